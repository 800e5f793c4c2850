import { describe, expect, it } from 'vitest';
import { carnetHome, DEFAULT_SERVER, profileDir, resolveTarget, serverKey } from '../src/config';

describe('configuration', () => {
  it('finds the local state directory', () => {
    expect(carnetHome({ CARNET_HOME: '/x/carnet', XDG_CONFIG_HOME: '/y', HOME: '/h' })).toBe(
      '/x/carnet',
    );
    expect(carnetHome({ XDG_CONFIG_HOME: '/y', HOME: '/h' })).toBe('/y/carnet');
    expect(carnetHome({ HOME: '/h' })).toBe('/h/.config/carnet');
  });

  it('resolves options before the environment before the defaults', () => {
    const env = {
      CARNET_SERVER: 'http://relay.example:9000/',
      CARNET_USER: 'Dr.Martin',
      HOME: '/h',
    };
    expect(resolveTarget({}, env)).toEqual({
      server: 'http://relay.example:9000',
      user: 'dr.martin',
      home: '/h/.config/carnet',
    });
    expect(resolveTarget({ server: 'https://other.example', user: 'jeanne' }, env)).toMatchObject({
      server: 'https://other.example',
      user: 'jeanne',
    });
    expect(resolveTarget({}, { HOME: '/h' })).toMatchObject({
      server: DEFAULT_SERVER,
      user: undefined,
    });
  });

  it('keeps one directory per relay and per user', () => {
    expect(serverKey('http://127.0.0.1:8080')).toBe('http_127.0.0.1_8080');
    expect(serverKey('https://carnet.example')).toBe('https_carnet.example_443');
    expect(serverKey('https://carnet.example/relay')).toBe('https_carnet.example_443_relay');
    expect(serverKey('http://[::1]:8080')).toBe('http____1__8080');
    const t = { server: 'http://127.0.0.1:8080', user: 'dr.martin', home: '/h/carnet' };
    expect(profileDir(t, 'dr.martin')).toBe('/h/carnet/http_127.0.0.1_8080/dr.martin');
  });
});
