// Where both sides find Redis: REDIS_HOST, REDIS_PORT and, for a server started with
// `--requirepass`, REDIS_PASSWORD (defaults: a local Redis without a password).
export function redisConnection(env: NodeJS.ProcessEnv = process.env): { host: string; port: number; password?: string } {
  const connection = { host: env.REDIS_HOST ?? '127.0.0.1', port: Number(env.REDIS_PORT ?? 6379) }
  return env.REDIS_PASSWORD ? { ...connection, password: env.REDIS_PASSWORD } : connection
}
