export declare const HEAVY_ITERS: number
export declare const LIGHT_ITERS: number
export declare function cpuWork(seed: number, iters: number): number
export declare function heavy(seed: number): number
export declare function light(seed: number): number
export default heavy
export declare function skewed(seed: number): number
