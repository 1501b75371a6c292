// workerpool's worker script: registers the cpu-task functions by name.
import workerpool from 'workerpool'
import { heavy, light } from './cpu-task.mjs'

workerpool.worker({ heavy, light })
