;; DRIVE's fast Walsh-Hadamard transform in WebAssembly SIMD (f64x2), the same doubles as hadamard.ts's
;; fwhtReference: every butterfly u +/- v is computed from the same two inputs whatever the schedule, so
;; stages run two at a time (radix 4) and block by block (16 KiB in L1) as in hadamard.ts's fwht.
;; The vector is at byte 0 of the module's own memory (hadamardWasm.ts copies it in and out). ASCII only.
(module
  (memory (export "memory") 1 32768)

  ;; Stages 1 and 2 over bytes [lo, hi), groups of four doubles: [a b] [c d] -> [a+b+(c+d) a-b+(c-d)]
  ;; [a+b-(c+d) a-b-(c-d)].
  (func $s12 (param $lo i32) (param $hi i32)
    (local $v0 v128) (local $v1 v128) (local $p v128) (local $r v128)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $lo) (local.get $hi)))
        (local.set $v0 (v128.load (local.get $lo)))
        (local.set $v1 (v128.load offset=16 (local.get $lo)))
        ;; [a+b, a-b] = lanes 0 of v0 + swap(v0) and of v0 - swap(v0)
        (local.set $p
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f64x2.add (local.get $v0) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v0) (local.get $v0)))
            (f64x2.sub (local.get $v0) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v0) (local.get $v0)))))
        (local.set $r
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
            (f64x2.add (local.get $v1) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v1) (local.get $v1)))
            (f64x2.sub (local.get $v1) (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v1) (local.get $v1)))))
        (v128.store (local.get $lo) (f64x2.add (local.get $p) (local.get $r)))
        (v128.store offset=16 (local.get $lo) (f64x2.sub (local.get $p) (local.get $r)))
        (local.set $lo (i32.add (local.get $lo) (i32.const 32)))
        (br $next))))

  ;; Stages h and 2h over bytes [lo, hi), h in bytes (>= 16): elements j, j+h, j+2h, j+3h.
  (func $r4 (param $lo i32) (param $hi i32) (param $h i32)
    (local $j i32) (local $e i32) (local $j1 i32) (local $j2 i32) (local $j3 i32)
    (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (local $p v128) (local $q v128) (local $r v128) (local $s v128)
    (block $done
      (loop $block
        (br_if $done (i32.ge_u (local.get $lo) (local.get $hi)))
        (local.set $j (local.get $lo))
        (local.set $e (i32.add (local.get $lo) (local.get $h)))
        (loop $inner
          (local.set $j1 (i32.add (local.get $j) (local.get $h)))
          (local.set $j2 (i32.add (local.get $j1) (local.get $h)))
          (local.set $j3 (i32.add (local.get $j2) (local.get $h)))
          (local.set $a (v128.load (local.get $j)))
          (local.set $b (v128.load (local.get $j1)))
          (local.set $c (v128.load (local.get $j2)))
          (local.set $d (v128.load (local.get $j3)))
          (local.set $p (f64x2.add (local.get $a) (local.get $b)))
          (local.set $q (f64x2.sub (local.get $a) (local.get $b)))
          (local.set $r (f64x2.add (local.get $c) (local.get $d)))
          (local.set $s (f64x2.sub (local.get $c) (local.get $d)))
          (v128.store (local.get $j) (f64x2.add (local.get $p) (local.get $r)))
          (v128.store (local.get $j1) (f64x2.add (local.get $q) (local.get $s)))
          (v128.store (local.get $j2) (f64x2.sub (local.get $p) (local.get $r)))
          (v128.store (local.get $j3) (f64x2.sub (local.get $q) (local.get $s)))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br_if $inner (i32.lt_u (local.get $j) (local.get $e))))
        (local.set $lo (i32.add (local.get $lo) (i32.shl (local.get $h) (i32.const 2))))
        (br $block))))

  ;; Stage h over bytes [lo, hi), h in bytes (>= 16).
  (func $r2 (param $lo i32) (param $hi i32) (param $h i32)
    (local $j i32) (local $e i32) (local $a v128) (local $b v128)
    (block $done
      (loop $block
        (br_if $done (i32.ge_u (local.get $lo) (local.get $hi)))
        (local.set $j (local.get $lo))
        (local.set $e (i32.add (local.get $lo) (local.get $h)))
        (loop $inner
          (local.set $a (v128.load (local.get $j)))
          (local.set $b (v128.load (i32.add (local.get $j) (local.get $h))))
          (v128.store (local.get $j) (f64x2.add (local.get $a) (local.get $b)))
          (v128.store (i32.add (local.get $j) (local.get $h)) (f64x2.sub (local.get $a) (local.get $b)))
          (local.set $j (i32.add (local.get $j) (i32.const 16)))
          (br_if $inner (i32.lt_u (local.get $j) (local.get $e))))
        (local.set $lo (i32.add (local.get $lo) (i32.shl (local.get $h) (i32.const 1))))
        (br $block))))

  ;; Stages h = from, 2 from, ... < to (in doubles, from >= 4 or from = 1 with to >= 4) over bytes [lo, hi).
  (func $stages (param $lo i32) (param $hi i32) (param $from i32) (param $to i32)
    (local $h i32)
    (local.set $h (local.get $from))
    (if (i32.eq (local.get $h) (i32.const 1))
      (then
        (call $s12 (local.get $lo) (local.get $hi))
        (local.set $h (i32.const 4))))
    (block $done
      (loop $pair
        (br_if $done (i32.ge_u (i32.shl (local.get $h) (i32.const 1)) (local.get $to)))
        (call $r4 (local.get $lo) (local.get $hi) (i32.shl (local.get $h) (i32.const 3)))
        (local.set $h (i32.shl (local.get $h) (i32.const 2)))
        (br $pair)))
    (if (i32.lt_u (local.get $h) (local.get $to))
      (then (call $r2 (local.get $lo) (local.get $hi) (i32.shl (local.get $h) (i32.const 3))))))

  ;; x <- H x for the n doubles at byte 0, n a power of two >= 4.
  (func (export "fwht") (param $n i32)
    (local $B i32) (local $b i32) (local $end i32)
    (local.set $B (select (local.get $n) (i32.const 2048) (i32.lt_u (local.get $n) (i32.const 2048))))
    (local.set $end (i32.shl (local.get $n) (i32.const 3)))
    (local.set $b (i32.const 0))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $b) (local.get $end)))
        (call $stages (local.get $b) (i32.add (local.get $b) (i32.shl (local.get $B) (i32.const 3))) (i32.const 1) (local.get $B))
        (local.set $b (i32.add (local.get $b) (i32.shl (local.get $B) (i32.const 3))))
        (br $blocks)))
    (call $stages (i32.const 0) (local.get $end) (local.get $B) (local.get $n)))
;; x[i] <- -x[i] where bit i mod 32 of the 32-bit word at words + 4 floor(i/32) is 0, for i < count (the
  ;; Rademacher signs: a sign-bit flip, the same as hadamard.ts's multiply by -1).
  (func (export "signs") (param $count i32) (param $words i32)
    (local $i i32) (local $w i64) (local $p i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $count)))
        (if (i32.eqz (i32.and (local.get $i) (i32.const 31)))
          (then (local.set $w (i64.extend_i32_u (i32.load (i32.add (local.get $words) (i32.shl (i32.shr_u (local.get $i) (i32.const 5)) (i32.const 2))))))))
        (local.set $p (i32.shl (local.get $i) (i32.const 3)))
        (i64.store (local.get $p)
          (i64.xor (i64.load (local.get $p))
            (i64.shl
              (i64.xor (i64.and (i64.shr_u (local.get $w) (i64.extend_i32_u (i32.and (local.get $i) (i32.const 31)))) (i64.const 1)) (i64.const 1))
              (i64.const 63))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next))))
)
