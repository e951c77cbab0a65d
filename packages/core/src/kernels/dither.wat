;; The dithering family's encode in WebAssembly SIMD (ditheringWasm.ts drives it): the same symbols and
;; words as dithering.ts's encodeStandard and encodeNatural, four coordinates a step: the keyed hash
;; (rng.ts's hash32) in i32x4 lanes, the rounding in f64x2 (standard) or on the doubles' bits in i64x2
;; (natural), then the symbols packed into base-m words by a scalar Horner loop (i32 arithmetic wraps, and
;; every word is < 2^32, so the bits are exact). A chunk of doubles at a, symbols at sym (4 bytes each),
;; words at out; count may end mid-group: lanes past it are computed from whatever is there and not packed.
;; ASCII only.
(module
  (memory (export "memory") 4)

  ;; hash32(k0, k1, j .. j+3) for the lane counters idx = (j, j+1, j+2, j+3).
  (func $hash (param $idx v128) (param $k0 v128) (param $k1 v128) (result v128)
    (local $x v128)
    (local.set $x (i32x4.add (local.get $idx) (local.get $k0)))
    (local.set $x (i32x4.mul (v128.xor (local.get $x) (i32x4.shr_u (local.get $x) (i32.const 16))) (i32x4.splat (i32.const 0x21f0aaad))))
    (local.set $x (i32x4.mul (v128.xor (v128.xor (local.get $x) (i32x4.shr_u (local.get $x) (i32.const 15))) (local.get $k1)) (i32x4.splat (i32.const 0x735a2d97))))
    (v128.xor (local.get $x) (i32x4.shr_u (local.get $x) (i32.const 15))))

  ;; Standard levels for two coordinates a with hashes hf (as doubles): s + sign * (floor(v) + [hf < frac(v) 2^32]),
  ;; v = min(|a| inv, 1) s (s the level count, s52 = s + 2^52), as doubles offset by 2^52.
  (func $std (param $a v128) (param $hf v128) (param $inv v128) (param $s v128) (param $s52 v128) (result v128)
    (local $v v128) (local $lo v128) (local $l v128)
    (local.set $v (f64x2.mul (f64x2.pmin (f64x2.mul (f64x2.abs (local.get $a)) (local.get $inv)) (f64x2.splat (f64.const 1))) (local.get $s)))
    (local.set $lo (f64x2.floor (local.get $v)))
    (local.set $l
      (f64x2.add (local.get $lo)
        (v128.and
          (f64x2.lt (local.get $hf) (f64x2.mul (f64x2.sub (local.get $v) (local.get $lo)) (f64x2.splat (f64.const 4294967296))))
          (f64x2.splat (f64.const 1)))))
    ;; -l for a < 0: flip l's sign bit (l = 0 gives -0, and s + -0 = s). s is splat(s + 2^52): the symbol is then
    ;; the low 32 bits of the double (an integer below 2^31 added to 2^52 is exact).
    (f64x2.add (local.get $s52)
      (v128.xor (local.get $l) (v128.and (f64x2.lt (local.get $a) (f64x2.splat (f64.const 0))) (f64x2.splat (f64.const -0))))))

  ;; Four symbols (i32x4) of standard levels for coordinates j .. j+3 at byte pa.
  (func $std4 (param $pa i32) (param $idx v128) (param $k0 v128) (param $k1 v128) (param $inv v128) (param $s v128) (param $s52 v128) (result v128)
    (local $h v128)
    (local.set $h (call $hash (local.get $idx) (local.get $k0) (local.get $k1)))
    ;; the low 32 bits of each double (symbol + 2^52), four lanes
    (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
      (call $std (v128.load (local.get $pa)) (f64x2.convert_low_i32x4_u (local.get $h)) (local.get $inv) (local.get $s) (local.get $s52))
      (call $std (v128.load offset=16 (local.get $pa))
        (f64x2.convert_low_i32x4_u (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $h) (local.get $h)))
        (local.get $inv) (local.get $s) (local.get $s52))))

  ;; Symbols of standard levels for the count coordinates at a (global indices j0 ..), into sym.
  (func (export "standard") (param $a i32) (param $count i32) (param $j0 i32) (param $inv f64) (param $s i32) (param $k0 i32) (param $k1 i32) (param $sym i32)
    (local $i i32) (local $idx v128) (local $k0v v128) (local $k1v v128) (local $invv v128) (local $sv v128) (local $s52 v128)
    (local.set $idx (i32x4.add (i32x4.splat (local.get $j0)) (v128.const i32x4 0 1 2 3)))
    (local.set $k0v (i32x4.splat (local.get $k0)))
    (local.set $k1v (i32x4.splat (local.get $k1)))
    (local.set $invv (f64x2.splat (local.get $inv)))
    (local.set $sv (f64x2.splat (f64.convert_i32_s (local.get $s))))
    (local.set $s52 (f64x2.splat (f64.add (f64.convert_i32_s (local.get $s)) (f64.const 4503599627370496))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $i) (local.get $count)))
        (v128.store (i32.add (local.get $sym) (i32.shl (local.get $i) (i32.const 2)))
          (call $std4 (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 3))) (local.get $idx) (local.get $k0v) (local.get $k1v) (local.get $invv) (local.get $sv) (local.get $s52)))
        (local.set $idx (i32x4.add (local.get $idx) (i32x4.splat (i32.const 4))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $next))))

  ;; Natural levels for two coordinates a, hashes h64 (i64 lanes) and hf (doubles): with u = min(|a| inv, 1),
  ;; biased its exponent field and M its mantissa, level biased - 1023 + s + [h 2^20 < M] from the lowest
  ;; level's exponent lowB up, else [hf < (u 2^(s-1)) 2^32]; symbol s + sign * level, as i64 lanes.
  (func $nat (param $a v128) (param $h64 v128) (param $hf v128) (param $inv v128) (param $s v128) (param $lowB v128) (param $low v128) (result v128)
    (local $u v128) (local $biased v128) (local $within v128) (local $below v128) (local $l v128) (local $neg v128)
    (local.set $u (f64x2.pmin (f64x2.mul (f64x2.abs (local.get $a)) (local.get $inv)) (f64x2.splat (f64.const 1))))
    (local.set $biased (i64x2.shr_u (local.get $u) (i32.const 52)))
    ;; the mask of the compare is -1 where true: subtracting it adds 1
    (local.set $within
      (i64x2.sub
        (i64x2.add (local.get $biased) (i64x2.sub (local.get $s) (i64x2.splat (i64.const 1023))))
        (i64x2.lt_s (i64x2.shl (local.get $h64) (i32.const 20)) (v128.and (local.get $u) (i64x2.splat (i64.const 0xfffffffffffff))))))
    (local.set $below
      (i64x2.neg (f64x2.lt (local.get $hf) (f64x2.mul (f64x2.mul (local.get $u) (local.get $low)) (f64x2.splat (f64.const 4294967296))))))
    (local.set $l (v128.bitselect (local.get $within) (local.get $below) (i64x2.ge_s (local.get $biased) (local.get $lowB))))
    ;; (l xor neg) - neg is -l where neg = -1 (a < 0)
    (local.set $neg (f64x2.lt (local.get $a) (f64x2.splat (f64.const 0))))
    (i64x2.add (local.get $s) (i64x2.sub (v128.xor (local.get $l) (local.get $neg)) (local.get $neg))))

  ;; Symbols of natural levels (s <= 1023) for the count coordinates at a (global indices j0 ..), into sym.
  (func (export "natural") (param $a i32) (param $count i32) (param $j0 i32) (param $inv f64) (param $s i32) (param $k0 i32) (param $k1 i32) (param $sym i32)
    (local $i i32) (local $pa i32) (local $idx v128) (local $h v128) (local $h23 v128) (local $k0v v128) (local $k1v v128) (local $invv v128)
    (local $sv v128) (local $lowB v128) (local $low v128)
    (local.set $idx (i32x4.add (i32x4.splat (local.get $j0)) (v128.const i32x4 0 1 2 3)))
    (local.set $k0v (i32x4.splat (local.get $k0)))
    (local.set $k1v (i32x4.splat (local.get $k1)))
    (local.set $invv (f64x2.splat (local.get $inv)))
    (local.set $sv (i64x2.splat (i64.extend_i32_s (local.get $s))))
    (local.set $lowB (i64x2.splat (i64.extend_i32_s (i32.sub (i32.const 1024) (local.get $s)))))
    ;; 2^(s-1) from its exponent field (s - 1 + 1023, s <= 1023)
    (local.set $low (i64x2.splat (i64.shl (i64.extend_i32_s (i32.add (local.get $s) (i32.const 1022))) (i64.const 52))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $i) (local.get $count)))
        (local.set $pa (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 3))))
        (local.set $h (call $hash (local.get $idx) (local.get $k0v) (local.get $k1v)))
        (local.set $h23 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $h) (local.get $h)))
        (v128.store (i32.add (local.get $sym) (i32.shl (local.get $i) (i32.const 2)))
          ;; the low 32 bits of each i64 lane, four lanes
          (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
            (call $nat (v128.load (local.get $pa)) (i64x2.extend_low_i32x4_u (local.get $h)) (f64x2.convert_low_i32x4_u (local.get $h))
              (local.get $invv) (local.get $sv) (local.get $lowB) (local.get $low))
            (call $nat (v128.load offset=16 (local.get $pa)) (i64x2.extend_low_i32x4_u (local.get $h23)) (f64x2.convert_low_i32x4_u (local.get $h23))
              (local.get $invv) (local.get $sv) (local.get $lowB) (local.get $low))))
        (local.set $idx (i32x4.add (local.get $idx) (i32x4.splat (i32.const 4))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $next))))

  ;; Packs count symbols at sym into words of k base-m digits (first symbol least significant) at out.
  (func (export "pack") (param $sym i32) (param $count i32) (param $m i32) (param $k i32) (param $out i32)
    (local $start i32) (local $j i32) (local $word i32)
    (block $done
      (loop $words
        (br_if $done (i32.ge_s (local.get $start) (local.get $count)))
        (local.set $j (i32.add (local.get $start) (local.get $k)))
        (if (i32.gt_s (local.get $j) (local.get $count)) (then (local.set $j (local.get $count))))
        (local.set $word (i32.const 0))
        (block $end
          (loop $digits
            (br_if $end (i32.le_s (local.get $j) (local.get $start)))
            (local.set $j (i32.sub (local.get $j) (i32.const 1)))
            (local.set $word
              (i32.add (i32.mul (local.get $word) (local.get $m)) (i32.load (i32.add (local.get $sym) (i32.shl (local.get $j) (i32.const 2))))))
            (br $digits)))
        (i32.store (local.get $out) (local.get $word))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (local.set $start (i32.add (local.get $start) (local.get $k)))
        (br $words))))
;; Natural compression's 9-bit fields (natural.ts naturalField) for two coordinates a, hashes h64 (i64 lanes)
  ;; and hf (doubles), as i64 lanes: code = biased - 896 + [h 2^20 < M] for normal float32 magnitudes,
  ;; 255 from 2^128 (and for infinities and NaN), [hf < |a| 2^158] below 2^-126; field (code << 1) | sign,
  ;; 0 for code 0.
  (func $field (param $a v128) (param $h64 v128) (param $hf v128) (result v128)
    (local $biased v128) (local $code v128)
    (local.set $biased (v128.and (i64x2.shr_u (local.get $a) (i32.const 52)) (i64x2.splat (i64.const 0x7ff))))
    (local.set $code
      (i64x2.sub
        (i64x2.sub (local.get $biased) (i64x2.splat (i64.const 896)))
        (i64x2.lt_s (i64x2.shl (local.get $h64) (i32.const 20)) (v128.and (local.get $a) (i64x2.splat (i64.const 0xfffffffffffff))))))
    (local.set $code (v128.bitselect (i64x2.splat (i64.const 255)) (local.get $code) (i64x2.gt_s (local.get $biased) (i64x2.splat (i64.const 1150)))))
    (local.set $code
      (v128.bitselect
        (i64x2.neg (f64x2.lt (local.get $hf) (f64x2.mul (f64x2.abs (local.get $a)) (f64x2.splat (f64.const 0x1p158)))))
        (local.get $code)
        (i64x2.lt_s (local.get $biased) (i64x2.splat (i64.const 897)))))
    (v128.or (i64x2.shl (local.get $code) (i32.const 1))
      (v128.and (i64x2.shr_u (local.get $a) (i32.const 63)) (v128.not (i64x2.eq (local.get $code) (i64x2.splat (i64.const 0)))))))

  ;; The fields of the count coordinates at a (global indices j0 ..) as i32 at fields.
  (func (export "fields") (param $a i32) (param $count i32) (param $j0 i32) (param $k0 i32) (param $k1 i32) (param $fields i32)
    (local $i i32) (local $pa i32) (local $idx v128) (local $h v128) (local $h23 v128) (local $k0v v128) (local $k1v v128)
    (local.set $idx (i32x4.add (i32x4.splat (local.get $j0)) (v128.const i32x4 0 1 2 3)))
    (local.set $k0v (i32x4.splat (local.get $k0)))
    (local.set $k1v (i32x4.splat (local.get $k1)))
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $i) (local.get $count)))
        (local.set $pa (i32.add (local.get $a) (i32.shl (local.get $i) (i32.const 3))))
        (local.set $h (call $hash (local.get $idx) (local.get $k0v) (local.get $k1v)))
        (local.set $h23 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $h) (local.get $h)))
        (v128.store (i32.add (local.get $fields) (i32.shl (local.get $i) (i32.const 2)))
          (i8x16.shuffle 0 1 2 3 8 9 10 11 16 17 18 19 24 25 26 27
            (call $field (v128.load (local.get $pa)) (i64x2.extend_low_i32x4_u (local.get $h)) (f64x2.convert_low_i32x4_u (local.get $h)))
            (call $field (v128.load offset=16 (local.get $pa)) (i64x2.extend_low_i32x4_u (local.get $h23)) (f64x2.convert_low_i32x4_u (local.get $h23)))))
        (local.set $idx (i32x4.add (local.get $idx) (i32x4.splat (i32.const 4))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $next))))

  ;; Packs groups of eight 9-bit fields (i32 at fields) into nine bytes each at out, LSB first.
  (func (export "pack9") (param $fields i32) (param $groups i32) (param $out i32)
    (local $g i32) (local $f i32) (local $acc i64)
    (block $done
      (loop $next
        (br_if $done (i32.ge_s (local.get $g) (local.get $groups)))
        (local.set $f (i32.add (local.get $fields) (i32.shl (local.get $g) (i32.const 5))))
        (local.set $acc
          (i64.or
            (i64.or
              (i64.or (i64.extend_i32_u (i32.load (local.get $f))) (i64.shl (i64.extend_i32_u (i32.load offset=4 (local.get $f))) (i64.const 9)))
              (i64.or (i64.shl (i64.extend_i32_u (i32.load offset=8 (local.get $f))) (i64.const 18)) (i64.shl (i64.extend_i32_u (i32.load offset=12 (local.get $f))) (i64.const 27))))
            (i64.or
              (i64.or (i64.shl (i64.extend_i32_u (i32.load offset=16 (local.get $f))) (i64.const 36)) (i64.shl (i64.extend_i32_u (i32.load offset=20 (local.get $f))) (i64.const 45)))
              (i64.or (i64.shl (i64.extend_i32_u (i32.load offset=24 (local.get $f))) (i64.const 54)) (i64.shl (i64.extend_i32_u (i32.load offset=28 (local.get $f))) (i64.const 63))))))
        (i64.store (local.get $out) (local.get $acc))
        (i32.store8 offset=8 (local.get $out) (i32.shr_u (i32.load offset=28 (local.get $f)) (i32.const 1)))
        (local.set $out (i32.add (local.get $out) (i32.const 9)))
        (local.set $g (i32.add (local.get $g) (i32.const 1)))
        (br $next))))
)
