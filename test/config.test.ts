import { ConfigError, loadConfig } from '../src/config.js';

describe('configuration', () => {
  test('defaults: port 3000, issuer from the port, CONTRACT lifetimes', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.issuer).toBe('http://localhost:3000');
    expect(config.ttl).toMatchObject({ accessToken: 900, refreshToken: 604800, voiceRefreshToken: 31536000 });
    expect(config.refreshTokenReuseGraceSeconds).toBe(10);
    expect(Object.isFrozen(config) && Object.isFrozen(config.ttl)).toBe(true);
  });

  test('environment variables override, and the issuer loses a trailing slash', () => {
    const config = loadConfig({ PORT: '4000', ISSUER: 'https://id.example.com/', ACCESS_TOKEN_TTL: '60', REDIS_URL: 'redis://a:6379,redis://b:6379' });
    expect(config).toMatchObject({ port: 4000, issuer: 'https://id.example.com', ttl: expect.objectContaining({ accessToken: 60 }) });
    expect(config.redis.url).toBe('redis://a:6379,redis://b:6379');
  });

  test.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ ISSUER: 'not a url' }, 'ISSUER'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'http://redis' }, 'REDIS_URL'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ REFRESH_TOKEN_TTL: '-5' }, 'REFRESH_TOKEN_TTL'],
    [{ NODE_ENV: 'production' }, 'ENCRYPTION_KEYS'],
  ])('a bad value stops the start naming the key: %j', (env, key) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^Invalid configuration: .*${key}`));
  });

  test('production never seeds the demo user', () => {
    expect(loadConfig({ NODE_ENV: 'production', ENCRYPTION_KEYS: 'k:x' }).seedDemo).toBe(false);
  });
});
