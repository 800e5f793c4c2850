import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '@carnet/shared/errors';
import { ERROR_STATUS } from '../../server/src/http/errors';
import { CORE_MESSAGES, RELAY_MESSAGES, messageFor } from '../src/messages';

describe('web messages', () => {
  it('cover every error code of the core in French and English', () => {
    for (const code of ERROR_CODES) {
      expect(CORE_MESSAGES[code].fr.length, code).toBeGreaterThan(10);
      expect(CORE_MESSAGES[code].en.length, code).toBeGreaterThan(10);
      expect(CORE_MESSAGES[code].fr).not.toBe(CORE_MESSAGES[code].en);
    }
  });

  it('cover every error code of the relay, and an unreachable relay', () => {
    for (const code of [...Object.keys(ERROR_STATUS), 'NETWORK']) {
      expect(RELAY_MESSAGES[code], code).toBeDefined();
      expect(messageFor(code, 'fr')).not.toBe(messageFor(code, 'en'));
    }
  });

  it('fall back to a generic message that promises nothing false', () => {
    expect(messageFor('SOMETHING_NEW', 'fr')).toMatch(/inattendue/);
    expect(messageFor('SOMETHING_NEW', 'en')).toMatch(/unexpected/);
  });
});
