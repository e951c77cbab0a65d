import { describe, expect, it } from 'vitest';
import { DASHBOARD_TOKEN_INPUT, NONCE_BYTES, PROOF_BYTES, proofInput, PROTOCOL_VERSION, utf8 } from '@marina/protocol';
import { toHex } from '@marina/protocol/testing';

describe('challenge and response inputs', () => {
  it('proofInput is nonce ‖ version byte ‖ the client name in UTF-8', () => {
    const nonce = Uint8Array.from({ length: NONCE_BYTES }, (_, i) => i);
    expect(toHex(proofInput(nonce, 'ab'))).toBe(toHex(nonce) + '03' + '6162');
    expect(PROTOCOL_VERSION).toBe(3);
    expect(PROOF_BYTES).toBe(32);
    // Never the dashboard token's input, whatever the name: at least 33 bytes against 9.
    expect(proofInput(nonce, '').length).toBe(33);
    expect(DASHBOARD_TOKEN_INPUT.length).toBe(9);
  });

  it('utf8 agrees with Node, lone surrogates included', () => {
    for (const s of ['', 'a', 'é', '€', '𝄞 clef', 'host/1234', '\ud800', 'x\udc00y', '\ud83d\ude00', 'z'.repeat(200)]) {
      expect(toHex(utf8(s)), JSON.stringify(s)).toBe(Buffer.from(s, 'utf8').toString('hex'));
    }
  });
});
