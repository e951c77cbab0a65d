import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../config.js';
import { runInProcess } from '../engine.js';
import { setupRun } from '../setup.js';

/**
 * Whole runs pinned bit for bit across the client's encode path: every method that forms its update in a loop of
 * its own (MARINA's difference, DIANA's v − h, EF21's v − g_i, DCGD's gradient, VR-MARINA's minibatch mean)
 * now hands the compressor Σv² summed while forming it, and every compressor that takes a norm from it (IQ,
 * CQ with client and shared range, QSGD and natural dithering with p = 2, DRIVE) must give the iterates it
 * gave with its own norm pass. The hashes were recorded at commit 5bb85ac, before that change; d = 61 and 200
 * have tails (d mod 8 ≠ 0) and d = 200 takes the SIMD kernels. A change of protocol bits changes them on purpose:
 * record them again then (the test prints every case that differs).
 */

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** One hash of a whole in-process run's iterates (every round's xHash, in order, and the final one). */
function runHash(cfg: Record<string, unknown>): string {
  const setup = setupRun(resolveConfig({ rounds: 40, stopAtTarget: false, clients: 5, ...cfg }));
  const { records, summary } = runInProcess(setup, setup.problems, { runId: 'test', sha256, now: () => 0 });
  return sha256(new TextEncoder().encode(records.map((r) => r.xHash).join(',') + summary.final.xHash)).slice(0, 16);
}

const CASES: Record<string, Record<string, unknown>> = {};
for (const method of ['marina', 'diana', 'ef21', 'dcgd', 'pp-marina', 'vr-marina']) {
  for (const compressor of ['cq', 'iq', 'qsgd', 'natural-dithering', 'drive']) {
    for (const dim of [61, 64, 200]) {
      const extra = method === 'pp-marina' ? { participants: 3 } : method === 'vr-marina' ? { batch: 2 } : {};
      CASES[`${method}.${compressor}.${dim}`] = { method, compressor, dim, noise: 0.5, p: '0.3', ...extra };
    }
  }
}
for (const compressor of ['cq', 'iq']) for (const dim of [61, 200]) CASES[`marina.${compressor}-shared.${dim}`] = { method: 'marina', compressor, range: 'shared', dim, noise: 0.5, p: '0.3' };

/** Recorded at 5bb85ac (each compressor's own norm pass). */
const BEFORE: Record<string, string> = {
  'marina.cq.61': '5b2b9e02aac7e30d',
  'marina.cq.64': '73a364472ba7fc03',
  'marina.cq.200': '95bc3294f4a4bd60',
  'marina.iq.61': '003f7a8ab5e725e9',
  'marina.iq.64': '3d1861515ff06159',
  'marina.iq.200': '10e8cb3c77102f4d',
  'marina.qsgd.61': '50cce718245fc59f',
  'marina.qsgd.64': 'f27fa22d6745f087',
  'marina.qsgd.200': '41b74eaac27fa786',
  'marina.natural-dithering.61': '78011473a74a239c',
  'marina.natural-dithering.64': '20425a6717b60587',
  'marina.natural-dithering.200': '7ed2d46f4d07fb7f',
  'marina.drive.61': '1af9ed045b1ca294',
  'marina.drive.64': 'f175f968eb849d85',
  'marina.drive.200': '172c36ea12f2d20a',
  'diana.cq.61': 'ca4075a144e905ed',
  'diana.cq.64': '6f30ccd1f262542a',
  'diana.cq.200': '4409364e5d7d7dcd',
  'diana.iq.61': 'd1c9ee4248684c1d',
  'diana.iq.64': 'f3763fa709113f50',
  'diana.iq.200': 'e756bc5f8249d5e2',
  'diana.qsgd.61': '93b79deab79baf15',
  'diana.qsgd.64': 'b598b8fc463b3b79',
  'diana.qsgd.200': 'edc5bd88f2c12aa0',
  'diana.natural-dithering.61': '9f8df54c3932c17c',
  'diana.natural-dithering.64': 'acdfbb62a2262168',
  'diana.natural-dithering.200': '3ab050124e56d423',
  'diana.drive.61': 'e9ab58c99cffba3f',
  'diana.drive.64': '52fc5235039a59c0',
  'diana.drive.200': 'c746d89c0d70476c',
  'ef21.cq.61': 'ecebeb066dd7de22',
  'ef21.cq.64': '7522641bec247d0a',
  'ef21.cq.200': '11bb2af60592e0b8',
  'ef21.iq.61': '5aba4667a4e53c92',
  'ef21.iq.64': 'a61d58435fe10fd6',
  'ef21.iq.200': '37dabf3ff5e97e7c',
  'ef21.qsgd.61': '2ec8ad4e1d7c1e82',
  'ef21.qsgd.64': 'b0d098d6bdd1854f',
  'ef21.qsgd.200': 'e5abcd6cdea85a7b',
  'ef21.natural-dithering.61': '5051d40e148133b2',
  'ef21.natural-dithering.64': '07acc2394b4302bb',
  'ef21.natural-dithering.200': '4d2f7a9b5ec99508',
  'ef21.drive.61': '804f2d7c8d7ea5aa',
  'ef21.drive.64': 'e90f97ec1c698f1c',
  'ef21.drive.200': 'c3b8a7d6679b7350',
  'dcgd.cq.61': 'aedbee2f5a65d706',
  'dcgd.cq.64': '48e88d60eabe35c8',
  'dcgd.cq.200': '55dfcec729fbecf1',
  'dcgd.iq.61': '348e70acab8b8106',
  'dcgd.iq.64': '1d4ecdc3700a4c7f',
  'dcgd.iq.200': 'c5471fc95da2f396',
  'dcgd.qsgd.61': 'a029ee0bf6704550',
  'dcgd.qsgd.64': '320a3b020a70e78c',
  'dcgd.qsgd.200': '8acb88dfaa506fe1',
  'dcgd.natural-dithering.61': '6f0acaaa8cb8d244',
  'dcgd.natural-dithering.64': '6cf54f7c912ff170',
  'dcgd.natural-dithering.200': 'b5f4170c88a11574',
  'dcgd.drive.61': '61dee208aa2ddfa7',
  'dcgd.drive.64': '4e4a9c7fcb78f685',
  'dcgd.drive.200': 'e46d5a2424cd0627',
  'pp-marina.cq.61': 'f49a809fbec5de23',
  'pp-marina.cq.64': '557d870ab5b3b336',
  'pp-marina.cq.200': '193b2b288218a464',
  'pp-marina.iq.61': 'e5e5c9a3d7eeb966',
  'pp-marina.iq.64': '6fd54e76fbade679',
  'pp-marina.iq.200': '7867584a3d77707a',
  'pp-marina.qsgd.61': '94078baee8288698',
  'pp-marina.qsgd.64': '48c51bd9e399dc61',
  'pp-marina.qsgd.200': 'b7ea5a8fdd189c9c',
  'pp-marina.natural-dithering.61': '7427c390d6e949d6',
  'pp-marina.natural-dithering.64': '7d506cef22e438ac',
  'pp-marina.natural-dithering.200': '993e836a2c311d7f',
  'pp-marina.drive.61': '0cda606e7a70ff10',
  'pp-marina.drive.64': '95f7e3f727613783',
  'pp-marina.drive.200': '536479ddf72354b2',
  'vr-marina.cq.61': '522220ae29bbeff5',
  'vr-marina.cq.64': 'e6e9acbe7a45bc72',
  'vr-marina.cq.200': '1799aa7c48030c41',
  'vr-marina.iq.61': '1d5065f401ef07aa',
  'vr-marina.iq.64': 'd4cdcaae2166503d',
  'vr-marina.iq.200': 'f6c5548d41c53bbb',
  'vr-marina.qsgd.61': 'aa46f672e8e845b0',
  'vr-marina.qsgd.64': '1f7d199ed51848e3',
  'vr-marina.qsgd.200': 'e6b60b2582a00417',
  'vr-marina.natural-dithering.61': '0bc3de6858c78285',
  'vr-marina.natural-dithering.64': '2a587f252b7f6c8d',
  'vr-marina.natural-dithering.200': '6cd86274fa6490c0',
  'vr-marina.drive.61': '0d4b7b7fe6b9222d',
  'vr-marina.drive.64': '03108584b804b45a',
  'vr-marina.drive.200': '0c48df731a4dca31',
  'marina.cq-shared.61': 'e5040f0c9ffa8420',
  'marina.cq-shared.200': '8f79e6fdec70b09c',
  'marina.iq-shared.61': '9be5eaf66404bdb7',
  'marina.iq-shared.200': '256a96dc941815a0',
};

describe('whole runs with the norm folded into forming the update', () => {
  it('give the iterates of the runs before the change, bit for bit (xHash of every round)', () => {
    expect(Object.keys(CASES).sort()).toEqual(Object.keys(BEFORE).sort());
    const now: Record<string, string> = {};
    for (const [name, cfg] of Object.entries(CASES)) now[name] = runHash(cfg);
    const differ = Object.keys(BEFORE).filter((k) => now[k] !== BEFORE[k]);
    if (differ.length > 0) console.log(`runs that differ: ${JSON.stringify(Object.fromEntries(differ.map((k) => [k, now[k]])))}`);
    expect(differ).toEqual([]);
    expect(new Set(Object.values(now)).size).toBe(Object.keys(now).length); // distinct runs, not one hash
  });
});
