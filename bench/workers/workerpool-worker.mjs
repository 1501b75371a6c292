// workerpool's worker script: registers the cpu-task functions by name.
import workerpool from 'workerpool'
import { heavy, light, skewed } from './cpu-task.mjs'

workerpool.worker({ heavy, light, skewed })
