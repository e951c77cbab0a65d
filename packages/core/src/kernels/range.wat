;; SIMD kernels of the one-bit range quantizers IQ and CQ (SPEC B.3, B.4; protocol 3). Each computes
;; exactly what its JavaScript reference in rangeJs.ts computes (the same IEEE operations in the same order,
;; so the same bits and the same sums). Assembled by packages/core/scripts/build-wasm.mjs (wabt) into
;; rangeWasmBytes.ts twice: as written, with a shared memory (growing it never detaches a view, so vectors can
;; live in it and be used in place), and with an unshared one (rangeWasm.ts streams JavaScript-heap vectors
;; through it in chunks: V8 copies into a shared buffer 2-3x slower).
;;
;; hash32(k0, k1, i), four lanes at a time: x = i + k0; x = (x ^ x>>>16)*0x21f0aaad;
;; x = (x ^ x>>>15 ^ k1)*0x735a2d97; x ^ x>>>15.
(module
  (import "env" "memory" (memory 1 32768 shared))

  (func $hash1 (param $k0 i32) (param $k1 i32) (param $i i32) (result i32)
    (local $x i32)
    (local.set $x (i32.add (local.get $i) (local.get $k0)))
    (local.set $x (i32.mul (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 16))) (i32.const 0x21f0aaad)))
    (local.set $x (i32.mul (i32.xor (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 15))) (local.get $k1)) (i32.const 0x735a2d97)))
    (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 15))))

  ;; Wellons' triple32 (rng.ts mix32), for the keys of CQ's retry attempts.
  (func $mix32 (param $x i32) (result i32)
    (local.set $x (i32.mul (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 17))) (i32.const 0xed5ad4bb)))
    (local.set $x (i32.mul (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 11))) (i32.const 0xac4c1b51)))
    (local.set $x (i32.mul (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 15))) (i32.const 0x31848bab)))
    (i32.xor (local.get $x) (i32.shr_u (local.get $x) (i32.const 14))))

  ;; CQ's replacement for a rejected shift (rangeJs.ts cqRetry): attempt c draws hash32(mix32(rk0 ^ c), rk1, j),
  ;; 32-bit multiply-shift, rejected below 2^32 mod n.
  (func $retry (param $j i32) (param $n i32) (param $rk0 i32) (param $rk1 i32) (result i32)
    (local $c i32) (local $m i64) (local $thr i64)
    (local.set $thr (i64.rem_u (i64.const 0x100000000) (i64.extend_i32_u (local.get $n))))
    (loop $attempt
      (local.set $m (i64.mul
        (i64.extend_i32_u (call $hash1 (call $mix32 (i32.xor (local.get $rk0) (local.get $c))) (local.get $rk1) (local.get $j)))
        (i64.extend_i32_u (local.get $n))))
      (if (i64.ge_u (i64.and (local.get $m) (i64.const 0xffffffff)) (local.get $thr))
        (then (return (i32.wrap_i64 (i64.shr_u (local.get $m) (i64.const 32))))))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $attempt))
    (unreachable))

  ;; Adds x_j^2 of m doubles at $p into the 8 lane sums at $acc (lane j mod 8; $p starts a group of 8).
  (func (export "sumsq") (param $p i32) (param $m i32) (param $acc i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $x v128)
    (local $end i32) (local $t i32) (local $k i32) (local $f f64) (local $q i32)
    (local.set $v0 (v128.load offset=0 (local.get $acc)))
    (local.set $v1 (v128.load offset=16 (local.get $acc)))
    (local.set $v2 (v128.load offset=32 (local.get $acc)))
    (local.set $v3 (v128.load offset=48 (local.get $acc)))
    (local.set $end (i32.add (local.get $p) (i32.shl (i32.and (local.get $m) (i32.const -8)) (i32.const 3))))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $x (v128.load offset=0 (local.get $p)))
        (local.set $v0 (f64x2.add (local.get $v0) (f64x2.mul (local.get $x) (local.get $x))))
        (local.set $x (v128.load offset=16 (local.get $p)))
        (local.set $v1 (f64x2.add (local.get $v1) (f64x2.mul (local.get $x) (local.get $x))))
        (local.set $x (v128.load offset=32 (local.get $p)))
        (local.set $v2 (f64x2.add (local.get $v2) (f64x2.mul (local.get $x) (local.get $x))))
        (local.set $x (v128.load offset=48 (local.get $p)))
        (local.set $v3 (f64x2.add (local.get $v3) (f64x2.mul (local.get $x) (local.get $x))))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (br $l)))
    (v128.store offset=0 (local.get $acc) (local.get $v0))
    (v128.store offset=16 (local.get $acc) (local.get $v1))
    (v128.store offset=32 (local.get $acc) (local.get $v2))
    (v128.store offset=48 (local.get $acc) (local.get $v3))
    (local.set $t (i32.and (local.get $m) (i32.const 7)))
    (block $done2
      (loop $l2
        (br_if $done2 (i32.ge_u (local.get $k) (local.get $t)))
        (local.set $f (f64.load (i32.add (local.get $p) (i32.shl (local.get $k) (i32.const 3)))))
        (local.set $q (i32.add (local.get $acc) (i32.shl (local.get $k) (i32.const 3))))
        (f64.store (local.get $q) (f64.add (f64.load (local.get $q)) (f64.mul (local.get $f) (local.get $f))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $l2))))

  ;; IQ: m coordinates from $a (global index of the first: $j0), one bit each into 32-bit words at $out:
  ;; bit = [hash32(k0, k1, j) < (a_j + r)*c], c = 2^31/r.
  (func (export "iq") (param $a i32) (param $out i32) (param $m i32) (param $j0 i32) (param $r f64) (param $c f64) (param $k0 i32) (param $k1 i32)
    (local $t i32) (local $full i32) (local $word i32) (local $g i32)
    (local $ctr v128) (local $h v128) (local $k1v v128) (local $m1 v128) (local $m2 v128)
    (local $rv v128) (local $cv v128) (local $four v128) (local $bit i32) (local $bits i32) (local $mag v128) (local $p52 v128)
    (local.set $k1v (i32x4.splat (local.get $k1)))
    (local.set $m1 (i32x4.splat (i32.const 0x21f0aaad)))
    (local.set $m2 (i32x4.splat (i32.const 0x735a2d97)))
    (local.set $rv (f64x2.splat (local.get $r)))
    (local.set $cv (f64x2.splat (local.get $c)))
    (local.set $four (i32x4.splat (i32.const 4)))
    ;; h as a double: 0x43300000 above it is 2^52 + h, exactly; minus 2^52.
    (local.set $mag (i32x4.splat (i32.const 0x43300000)))
    (local.set $p52 (f64x2.splat (f64.const 4503599627370496)))
    ;; The counters carry k0 already (hash32 starts from i + k0).
    (local.set $ctr (i32x4.add (i32x4.splat (i32.add (local.get $j0) (local.get $k0))) (v128.const i32x4 0 1 2 3)))
    (local.set $full (i32.and (local.get $m) (i32.const -32)))
    (block $words
      (loop $wl
        (br_if $words (i32.ge_u (local.get $t) (local.get $full)))
        (local.set $word (i32.const 0))
        (local.set $g (i32.const 0))
        ;; 8 coordinates (two hashes of 4 lanes) per iteration.
        (loop $gl
          (local.set $bits (i32.const 0))
          (local.set $h (local.get $ctr))
          (local.set $ctr (i32x4.add (local.get $ctr) (local.get $four)))
          (local.set $h (i32x4.mul (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 16))) (local.get $m1)))
          (local.set $h (i32x4.mul (v128.xor (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 15))) (local.get $k1v)) (local.get $m2)))
          (local.set $h (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 15))))
          (local.set $bits (i32.or (local.get $bits) (i32.shl
            (i32.or
              (i64x2.bitmask (f64x2.lt (f64x2.sub (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $h) (local.get $mag)) (local.get $p52))
                (f64x2.mul (f64x2.add (v128.load offset=0 (local.get $a)) (local.get $rv)) (local.get $cv))))
              (i32.shl
                (i64x2.bitmask (f64x2.lt
                  (f64x2.sub (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $h) (local.get $mag)) (local.get $p52))
                  (f64x2.mul (f64x2.add (v128.load offset=16 (local.get $a)) (local.get $rv)) (local.get $cv))))
                (i32.const 2)))
            (i32.const 0))))
          (local.set $h (local.get $ctr))
          (local.set $ctr (i32x4.add (local.get $ctr) (local.get $four)))
          (local.set $h (i32x4.mul (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 16))) (local.get $m1)))
          (local.set $h (i32x4.mul (v128.xor (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 15))) (local.get $k1v)) (local.get $m2)))
          (local.set $h (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 15))))
          (local.set $bits (i32.or (local.get $bits) (i32.shl
            (i32.or
              (i64x2.bitmask (f64x2.lt (f64x2.sub (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $h) (local.get $mag)) (local.get $p52))
                (f64x2.mul (f64x2.add (v128.load offset=32 (local.get $a)) (local.get $rv)) (local.get $cv))))
              (i32.shl
                (i64x2.bitmask (f64x2.lt
                  (f64x2.sub (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $h) (local.get $mag)) (local.get $p52))
                  (f64x2.mul (f64x2.add (v128.load offset=48 (local.get $a)) (local.get $rv)) (local.get $cv))))
                (i32.const 2)))
            (i32.const 4))))
          (local.set $word (i32.or (local.get $word) (i32.shl (local.get $bits) (local.get $g))))
          (local.set $a (i32.add (local.get $a) (i32.const 64)))
          (local.set $g (i32.add (local.get $g) (i32.const 8)))
          (br_if $gl (i32.lt_u (local.get $g) (i32.const 32))))
        (i32.store (local.get $out) (local.get $word))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (local.set $t (i32.add (local.get $t) (i32.const 32)))
        (br $wl)))
    ;; The last m mod 32 coordinates one at a time; the word's high bits stay zero (padding).
    (local.set $word (i32.const 0))
    (local.set $g (i32.const 0))
    (block $tail
      (loop $tl
        (br_if $tail (i32.ge_u (local.get $t) (local.get $m)))
        (local.set $bit
          (f64.lt (f64.convert_i32_u (call $hash1 (local.get $k0) (local.get $k1) (i32.add (local.get $j0) (local.get $t))))
            (f64.mul (f64.add (f64.load (local.get $a)) (local.get $r)) (local.get $c))))
        (local.set $word (i32.or (local.get $word) (i32.shl (local.get $bit) (local.get $g))))
        (local.set $a (i32.add (local.get $a) (i32.const 8)))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $tl)))
    (if (local.get $g) (then (i32.store (local.get $out) (local.get $word)))))

  ;; CQ, one coordinate (the last m mod 32): as cqBits in rangeJs.ts.
  (func $cqBit (param $j i32) (param $x f64) (param $r f64) (param $scale f64) (param $n i32) (param $mine i32)
      (param $sk0 i32) (param $sk1 i32) (param $jk0 i32) (param $jk1 i32) (param $rk0 i32) (param $rk1 i32) (result i32)
    (local $mm i32) (local $s i32) (local $z f64) (local $fl f64) (local $sf f64)
    (local.set $mm (i32.mul
      (i32.and (i32.shr_u (call $hash1 (local.get $sk0) (local.get $sk1) (i32.shr_u (local.get $j) (i32.const 1)))
        (i32.shl (i32.and (local.get $j) (i32.const 1)) (i32.const 4))) (i32.const 0xffff))
      (local.get $n)))
    (local.set $s (i32.shr_u (local.get $mm) (i32.const 16)))
    (if (i32.lt_u (i32.and (local.get $mm) (i32.const 0xffff)) (i32.rem_u (i32.const 0x10000) (local.get $n)))
      (then (local.set $s (call $retry (local.get $j) (local.get $n) (local.get $rk0) (local.get $rk1)))))
    (local.set $s (i32.add (local.get $s) (local.get $mine)))
    (if (i32.ge_u (local.get $s) (local.get $n)) (then (local.set $s (i32.sub (local.get $s) (local.get $n)))))
    (local.set $z (f64.mul (f64.add (local.get $x) (local.get $r)) (local.get $scale)))
    (local.set $fl (f64.floor (local.get $z)))
    (local.set $sf (f64.convert_i32_s (local.get $s)))
    (if (f64.lt (local.get $sf) (local.get $fl)) (then (return (i32.const 1))))
    (if (f64.eq (local.get $sf) (local.get $fl))
      (then (return (f64.lt (f64.convert_i32_u (call $hash1 (local.get $jk0) (local.get $jk1) (local.get $j)))
        (f64.mul (f64.sub (local.get $z) (local.get $fl)) (f64.const 4294967296))))))
    (i32.const 0))

  ;; CQ: m coordinates from $a ($j0 a multiple of 8), bits into 32-bit words at $out, n <= 65535.
  ;; Per 8 coordinates one shift hash (its i16x8 lanes are the 8 draws u, in order), two jitter hashes.
  (func (export "cq") (param $a i32) (param $out i32) (param $m i32) (param $j0 i32) (param $r f64) (param $scale f64) (param $c f64)
      (param $n i32) (param $mine i32) (param $sk0 i32) (param $sk1 i32) (param $jk0 i32) (param $jk1 i32) (param $rk0 i32) (param $rk1 i32) (param $scratch i32)
    (local $t i32) (local $full i32) (local $word i32) (local $g i32) (local $bits i32) (local $q i32) (local $j i32)
    (local $thr i32) (local $rej i32) (local $pow2 i32) (local $shift i32) (local $mine16 v128) (local $mask16 v128) (local $nm1 v128) (local $mag v128) (local $p52 v128)
    (local $sctr v128) (local $jctr v128) (local $h v128) (local $jh0 v128) (local $jh1 v128)
    (local $m1 v128) (local $m2 v128) (local $sk1v v128) (local $jk1v v128)
    (local $n16 v128) (local $nv v128) (local $minev v128) (local $thrv v128)
    (local $mlo v128) (local $mhi v128) (local $slo v128) (local $shi v128)
    (local $rv v128) (local $cv v128) (local $four v128) (local $eight v128)
    (local.set $m1 (i32x4.splat (i32.const 0x21f0aaad)))
    (local.set $m2 (i32x4.splat (i32.const 0x735a2d97)))
    (local.set $sk1v (i32x4.splat (local.get $sk1)))
    (local.set $jk1v (i32x4.splat (local.get $jk1)))
    (local.set $n16 (i16x8.splat (local.get $n)))
    (local.set $nv (i32x4.splat (local.get $n)))
    (local.set $minev (i32x4.splat (local.get $mine)))
    (local.set $thr (i32.rem_u (i32.const 0x10000) (local.get $n)))
    (local.set $thrv (i16x8.splat (local.get $thr)))
    (local.set $nm1 (i32x4.splat (i32.sub (local.get $n) (i32.const 1))))
    (local.set $pow2 (i32.eqz (i32.and (local.get $n) (i32.sub (local.get $n) (i32.const 1)))))
    (local.set $shift (i32.sub (i32.const 16) (i32.ctz (local.get $n))))
    (local.set $mine16 (i16x8.splat (local.get $mine)))
    (local.set $mask16 (i16x8.splat (i32.sub (local.get $n) (i32.const 1))))
    (local.set $mag (i32x4.splat (i32.const 0x43300000)))
    (local.set $p52 (f64x2.splat (f64.const 4503599627370496)))
    (local.set $rv (f64x2.splat (local.get $r)))
    (local.set $cv (f64x2.splat (local.get $c)))
    (local.set $four (i32x4.splat (i32.const 4)))
    (local.set $eight (i32x4.splat (i32.const 8)))
    ;; The counters carry their stream's k0 already (hash32 starts from i + k0).
    (local.set $sctr (i32x4.add (i32x4.splat (i32.add (i32.shr_u (local.get $j0) (i32.const 1)) (local.get $sk0))) (v128.const i32x4 0 1 2 3)))
    (local.set $jctr (i32x4.add (i32x4.splat (i32.add (local.get $j0) (local.get $jk0))) (v128.const i32x4 0 1 2 3)))
    (local.set $full (i32.and (local.get $m) (i32.const -32)))
    (block $words
      (loop $wl
        (br_if $words (i32.ge_u (local.get $t) (local.get $full)))
        (local.set $word (i32.const 0))
        (local.set $g (i32.const 0))
        (loop $gl
          ;; Shift draws of coordinates t..t+7: u*n split into s = floor(u*n/2^16) and the rejection test.
          (local.set $h (local.get $sctr))
          (local.set $h (i32x4.mul (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 16))) (local.get $m1)))
          (local.set $h (i32x4.mul (v128.xor (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 15))) (local.get $sk1v)) (local.get $m2)))
          (local.set $h (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 15))))
          (if (local.get $pow2)
            (then
              ;; n = 2^k: s = u >> (16 - k), and mod n is a mask; in 16-bit lanes, no rejection.
              (local.set $h (v128.and (i16x8.add (i16x8.shr_u (local.get $h) (local.get $shift)) (local.get $mine16)) (local.get $mask16)))
              (local.set $slo (v128.or (local.get $mag) (i32x4.extend_low_i16x8_u (local.get $h))))
              (local.set $shi (v128.or (local.get $mag) (i32x4.extend_high_i16x8_u (local.get $h))))
              (local.set $rej (i32.const 0)))
            (else
              (local.set $mlo (i32x4.extmul_low_i16x8_u (local.get $h) (local.get $n16)))
              (local.set $mhi (i32x4.extmul_high_i16x8_u (local.get $h) (local.get $n16)))
              ;; u*n mod 2^16 is the low half of the 16-bit product, rejected below 2^16 mod n (never when that is 0):
              ;; bit q of $rej for coordinate t+g+q.
              (local.set $rej (i32.const 0))
              (if (local.get $thr)
                (then (local.set $rej (i16x8.bitmask (i16x8.lt_u (i16x8.mul (local.get $h) (local.get $n16)) (local.get $thrv))))))
              ;; slot = s + rho(slot) mod n, for coordinates t..t+3 (slo) and t+4..t+7 (shi).
              ;; (slot < 2n <= 2^17, so a signed compare); then 0x43300000 in the high word: with a 32-bit h in the
              ;; low word the pair is the double 2^52 + slot*2^32 + h exactly.
              (local.set $slo (i32x4.add (i32x4.shr_u (local.get $mlo) (i32.const 16)) (local.get $minev)))
              (local.set $slo (v128.or (local.get $mag)
                (i32x4.sub (local.get $slo) (v128.and (local.get $nv) (i32x4.gt_s (local.get $slo) (local.get $nm1))))))
              (local.set $shi (i32x4.add (i32x4.shr_u (local.get $mhi) (i32.const 16)) (local.get $minev)))
              (local.set $shi (v128.or (local.get $mag)
                (i32x4.sub (local.get $shi) (v128.and (local.get $nv) (i32x4.gt_s (local.get $shi) (local.get $nm1))))))))
          (if (local.get $rej)
            (then
              ;; Rejected draws (rare): their lanes take the retry stream's shift, through a 32-byte scratch.
              (v128.store offset=0 (local.get $scratch) (local.get $slo))
              (v128.store offset=16 (local.get $scratch) (local.get $shi))
              (local.set $q (i32.const 0))
              (loop $rl
                (if (i32.and (local.get $rej) (i32.shl (i32.const 1) (local.get $q)))
                  (then
                    (local.set $j (i32.add (local.get $mine)
                      (call $retry (i32.add (i32.add (local.get $j0) (local.get $t)) (i32.add (local.get $g) (local.get $q)))
                        (local.get $n) (local.get $rk0) (local.get $rk1))))
                    (if (i32.ge_u (local.get $j) (local.get $n)) (then (local.set $j (i32.sub (local.get $j) (local.get $n)))))
                    (i32.store (i32.add (local.get $scratch) (i32.shl (local.get $q) (i32.const 2)))
                      (i32.or (local.get $j) (i32.const 0x43300000)))))
                (local.set $q (i32.add (local.get $q) (i32.const 1)))
                (br_if $rl (i32.lt_u (local.get $q) (i32.const 8))))
              (local.set $slo (v128.load offset=0 (local.get $scratch)))
              (local.set $shi (v128.load offset=16 (local.get $scratch)))))
              ;; Jitter draws of coordinates t..t+3 and t+4..t+7.
              (local.set $h (local.get $jctr))
              (local.set $h (i32x4.mul (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 16))) (local.get $m1)))
              (local.set $h (i32x4.mul (v128.xor (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 15))) (local.get $jk1v)) (local.get $m2)))
              (local.set $jh0 (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 15))))
              (local.set $h (i32x4.add (local.get $jctr) (local.get $four)))
              (local.set $h (i32x4.mul (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 16))) (local.get $m1)))
              (local.set $h (i32x4.mul (v128.xor (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 15))) (local.get $jk1v)) (local.get $m2)))
              (local.set $jh1 (v128.xor (local.get $h) (i32x4.shr_u (local.get $h) (i32.const 15))))
              ;; bit = [slot*2^32 + h < (a + r)*c], c = n*2^31/r: every term an exact integer or an exact power-of-two
              ;; scaling of cqBits' z, so the same as its [slot < floor(z)], or [h < (z - floor(z))*2^32] at equality.
              (local.set $bits (i64x2.bitmask (f64x2.lt
                (f64x2.sub (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $jh0) (local.get $slo)) (local.get $p52))
                (f64x2.mul (f64x2.add (v128.load offset=0 (local.get $a)) (local.get $rv)) (local.get $cv)))))
              (local.set $bits (i32.or (local.get $bits) (i32.shl (i64x2.bitmask (f64x2.lt
                (f64x2.sub (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $jh0) (local.get $slo)) (local.get $p52))
                (f64x2.mul (f64x2.add (v128.load offset=16 (local.get $a)) (local.get $rv)) (local.get $cv)))) (i32.const 2))))
              (local.set $bits (i32.or (local.get $bits) (i32.shl (i64x2.bitmask (f64x2.lt
                (f64x2.sub (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $jh1) (local.get $shi)) (local.get $p52))
                (f64x2.mul (f64x2.add (v128.load offset=32 (local.get $a)) (local.get $rv)) (local.get $cv)))) (i32.const 4))))
              (local.set $bits (i32.or (local.get $bits) (i32.shl (i64x2.bitmask (f64x2.lt
                (f64x2.sub (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $jh1) (local.get $shi)) (local.get $p52))
                (f64x2.mul (f64x2.add (v128.load offset=48 (local.get $a)) (local.get $rv)) (local.get $cv)))) (i32.const 6))))
          (local.set $word (i32.or (local.get $word) (i32.shl (local.get $bits) (local.get $g))))
          (local.set $sctr (i32x4.add (local.get $sctr) (local.get $four)))
          (local.set $jctr (i32x4.add (local.get $jctr) (local.get $eight)))
          (local.set $a (i32.add (local.get $a) (i32.const 64)))
          (local.set $g (i32.add (local.get $g) (i32.const 8)))
          (br_if $gl (i32.lt_u (local.get $g) (i32.const 32))))
        (i32.store (local.get $out) (local.get $word))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (local.set $t (i32.add (local.get $t) (i32.const 32)))
        (br $wl)))
    (local.set $word (i32.const 0))
    (local.set $g (i32.const 0))
    (block $tail
      (loop $tl
        (br_if $tail (i32.ge_u (local.get $t) (local.get $m)))
        (local.set $word (i32.or (local.get $word)
          (i32.shl (call $cqBit (i32.add (local.get $j0) (local.get $t)) (f64.load (local.get $a))
              (local.get $r) (local.get $scale) (local.get $n) (local.get $mine)
              (local.get $sk0) (local.get $sk1) (local.get $jk0) (local.get $jk1) (local.get $rk0) (local.get $rk1))
            (local.get $g))))
        (local.set $a (i32.add (local.get $a) (i32.const 8)))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (local.set $t (i32.add (local.get $t) (i32.const 1)))
        (br $tl)))
    (if (local.get $g) (then (i32.store (local.get $out) (local.get $word)))))

  ;; Decode-accumulate: sum[j] += +-r_i for payloads i = 0..count-1 in order, coordinates 0..8ceil(m/8) of
  ;; the block at $sum (the caller reads back m). Payload i's bits are at $slices + i*$stride, r_i at
  ;; $radii + 8i. The table at 0 holds, per byte value b, 8 doubles' sign masks (bit k of b clear: the sign
  ;; bit), so r xor mask is +-r exactly; 8 coordinates stay in 4 registers across all payloads.
  (func (export "add") (param $sum i32) (param $m i32) (param $slices i32) (param $stride i32) (param $radii i32) (param $count i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $rv v128)
    (local $groups i32) (local $g i32) (local $i i32) (local $p i32) (local $rp i32) (local $tb i32)
    (local.set $groups (i32.shr_u (i32.add (local.get $m) (i32.const 7)) (i32.const 3)))
    (block $done
      (loop $gl
        (br_if $done (i32.ge_u (local.get $g) (local.get $groups)))
        (local.set $s0 (v128.load offset=0 (local.get $sum)))
        (local.set $s1 (v128.load offset=16 (local.get $sum)))
        (local.set $s2 (v128.load offset=32 (local.get $sum)))
        (local.set $s3 (v128.load offset=48 (local.get $sum)))
        (local.set $p (i32.add (local.get $slices) (local.get $g)))
        (local.set $rp (local.get $radii))
        (local.set $i (i32.const 0))
        (block $pd
          (loop $pl
            (br_if $pd (i32.ge_u (local.get $i) (local.get $count)))
            (local.set $tb (i32.shl (i32.load8_u (local.get $p)) (i32.const 6)))
            (local.set $rv (v128.load64_splat (local.get $rp)))
            (local.set $s0 (f64x2.add (local.get $s0) (v128.xor (local.get $rv) (v128.load offset=0 (local.get $tb)))))
            (local.set $s1 (f64x2.add (local.get $s1) (v128.xor (local.get $rv) (v128.load offset=16 (local.get $tb)))))
            (local.set $s2 (f64x2.add (local.get $s2) (v128.xor (local.get $rv) (v128.load offset=32 (local.get $tb)))))
            (local.set $s3 (f64x2.add (local.get $s3) (v128.xor (local.get $rv) (v128.load offset=48 (local.get $tb)))))
            (local.set $p (i32.add (local.get $p) (local.get $stride)))
            (local.set $rp (i32.add (local.get $rp) (i32.const 8)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $pl)))
        (v128.store offset=0 (local.get $sum) (local.get $s0))
        (v128.store offset=16 (local.get $sum) (local.get $s1))
        (v128.store offset=32 (local.get $sum) (local.get $s2))
        (v128.store offset=48 (local.get $sum) (local.get $s3))
        (local.set $sum (i32.add (local.get $sum) (i32.const 64)))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (br $gl))))
)
