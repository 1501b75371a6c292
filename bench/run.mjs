// Entry of `npm run bench`: registers tsx for this thread only and loads the
// suite. Started with `node --import tsx` instead, every worker thread of every
// pool would inherit that flag and load tsx on start (~150 ms per run that no
// production pool pays); this way threads start as plain Node, as they would in
// production. (pipevine run from its TypeScript sources registers tsx in its own
// threads; see the "dist build" rows.)
import { register } from 'tsx/esm/api'

register()
await import('./index.ts')
