;; Phase 13 tick over a range of chunks of one ring: hand-written WebAssembly
;; with f32x4 SIMD, over the run's shared memory (no copies).
;;
;; Exactness: every f32 operation is a single IEEE-754 binary32 operation in
;; the original's order (golden/NOTES.md §4); wasm has no implicit FMA, and
;; the SIMD lanes compute exactly what the scalar path computes. The clamp is
;; written with compares and bitselect, so NaN passes through and -0 stays
;; -0, as in C. The chunk sums are sequential in float32 from 0 (SPEC §1).
;;
;; Memory addresses are byte offsets: $pin/$kin point at pocket 0 of the
;; ring's current phases/coherences, $pout/$kout at pocket 0 of the next half,
;; $part at chunk 0 of the ring's partials (4 × f32 per chunk: Σφ′, Σ|x|,
;; Σ½x², Σκ′).
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; one pocket, scalar: neighbours at indices $l and $r
  (func $pocket (param $pin i32) (param $kin i32) (param $pout i32) (param $kout i32)
                (param $i i32) (param $l i32) (param $r i32)
                (param $g f32) (param $dl f32) (param $a f32) (param $b f32)
    (local $pi f32) (local $ki f32) (local $v f32)
    (local.set $pi (f32.load (i32.add (local.get $pin) (i32.shl (local.get $i) (i32.const 2)))))
    (local.set $ki (f32.load (i32.add (local.get $kin) (i32.shl (local.get $i) (i32.const 2)))))
    ;; φ′ = fl(fl(φ + fl(g·fl(fl(0.5·fl(φL+φR)) − φ))) − fl(fl(δ·φ)·0.01))
    (f32.store (i32.add (local.get $pout) (i32.shl (local.get $i) (i32.const 2)))
      (f32.sub
        (f32.add (local.get $pi)
          (f32.mul (local.get $g)
            (f32.sub
              (f32.mul (f32.const 0.5)
                (f32.add (f32.load (i32.add (local.get $pin) (i32.shl (local.get $l) (i32.const 2))))
                         (f32.load (i32.add (local.get $pin) (i32.shl (local.get $r) (i32.const 2))))))
              (local.get $pi))))
        (f32.mul (f32.mul (local.get $dl) (local.get $pi)) (f32.const 0.01))))
    ;; κ′ = clamp(fl(fl(κ + fl(a·fl(fl(0.5·fl(κL+κR)) − κ))) + b), 0, 1)
    (local.set $v
      (f32.add
        (f32.add (local.get $ki)
          (f32.mul (local.get $a)
            (f32.sub
              (f32.mul (f32.const 0.5)
                (f32.add (f32.load (i32.add (local.get $kin) (i32.shl (local.get $l) (i32.const 2))))
                         (f32.load (i32.add (local.get $kin) (i32.shl (local.get $r) (i32.const 2))))))
              (local.get $ki))))
        (local.get $b)))
    (f32.store (i32.add (local.get $kout) (i32.shl (local.get $i) (i32.const 2)))
      (select (f32.const 0)
        (select (f32.const 1) (local.get $v) (f32.gt (local.get $v) (f32.const 1)))
        (f32.lt (local.get $v) (f32.const 0)))))

  ;; sequential float32 sums over pockets [$s, $e) of the new arrays, in pocket order
  (func $reduce1 (param $pout i32) (param $kout i32) (param $s i32) (param $e i32) (param $m f32) (param $dst i32)
    (local $i i32) (local $o i32) (local $pn f32) (local $x f32)
    (local $sp f32) (local $dr f32) (local $en f32) (local $co f32)
    (local.set $i (local.get $s))
    (block $rdone
      (loop $red
        (br_if $rdone (i32.ge_u (local.get $i) (local.get $e)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $pn (f32.load (i32.add (local.get $pout) (local.get $o))))
        (local.set $x (f32.sub (local.get $pn) (local.get $m)))
        (local.set $sp (f32.add (local.get $sp) (local.get $pn)))
        (local.set $dr (f32.add (local.get $dr) (f32.abs (local.get $x))))
        (local.set $en (f32.add (local.get $en) (f32.mul (f32.mul (f32.const 0.5) (local.get $x)) (local.get $x))))
        (local.set $co (f32.add (local.get $co) (f32.load (i32.add (local.get $kout) (local.get $o)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $red)))
    (f32.store offset=0 (local.get $dst) (local.get $sp))
    (f32.store offset=4 (local.get $dst) (local.get $dr))
    (f32.store offset=8 (local.get $dst) (local.get $en))
    (f32.store offset=12 (local.get $dst) (local.get $co)))

  ;; the same sums for four whole chunks at once, one chunk per SIMD lane:
  ;; load four consecutive pockets of each chunk, transpose 4×4 so a vector
  ;; holds the same position of the four chunks, and accumulate vertically.
  ;; Each lane still adds its own chunk's terms in pocket order.
  (func $reduce4 (param $pout i32) (param $kout i32) (param $s i32) (param $m f32) (param $dst i32)
    (local $j i32) (local $o i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local $p0 v128) (local $p1 v128) (local $p2 v128) (local $p3 v128)
    (local $k0 v128) (local $k1 v128) (local $k2 v128) (local $k3 v128)
    (local $vm v128) (local $x v128)
    (local $sp v128) (local $dr v128) (local $en v128) (local $co v128)
    (local.set $vm (f32x4.splat (local.get $m)))
    (local.set $j (i32.const 0))
    (block $done
      (loop $step
        (br_if $done (i32.ge_u (local.get $j) (i32.const 4096)))
        (local.set $o (i32.shl (i32.add (local.get $s) (local.get $j)) (i32.const 2)))
        ;; phases: chunks are 4096 pockets = 16384 bytes apart
        (local.set $a0 (v128.load offset=0 (i32.add (local.get $pout) (local.get $o))))
        (local.set $a1 (v128.load offset=16384 (i32.add (local.get $pout) (local.get $o))))
        (local.set $a2 (v128.load offset=32768 (i32.add (local.get $pout) (local.get $o))))
        (local.set $a3 (v128.load offset=49152 (i32.add (local.get $pout) (local.get $o))))
        (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a0) (local.get $a1)))
        (local.set $t1 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a2) (local.get $a3)))
        (local.set $t2 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a0) (local.get $a1)))
        (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a2) (local.get $a3)))
        (local.set $p0 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1)))
        (local.set $p1 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t1)))
        (local.set $p2 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t2) (local.get $t3)))
        (local.set $p3 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t2) (local.get $t3)))
        ;; coherences, the same way
        (local.set $a0 (v128.load offset=0 (i32.add (local.get $kout) (local.get $o))))
        (local.set $a1 (v128.load offset=16384 (i32.add (local.get $kout) (local.get $o))))
        (local.set $a2 (v128.load offset=32768 (i32.add (local.get $kout) (local.get $o))))
        (local.set $a3 (v128.load offset=49152 (i32.add (local.get $kout) (local.get $o))))
        (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a0) (local.get $a1)))
        (local.set $t1 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $a2) (local.get $a3)))
        (local.set $t2 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a0) (local.get $a1)))
        (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $a2) (local.get $a3)))
        (local.set $k0 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1)))
        (local.set $k1 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t1)))
        (local.set $k2 (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t2) (local.get $t3)))
        (local.set $k3 (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t2) (local.get $t3)))
        ;; position j
        (local.set $x (f32x4.sub (local.get $p0) (local.get $vm)))
        (local.set $sp (f32x4.add (local.get $sp) (local.get $p0)))
        (local.set $dr (f32x4.add (local.get $dr) (f32x4.abs (local.get $x))))
        (local.set $en (f32x4.add (local.get $en) (f32x4.mul (f32x4.mul (v128.const f32x4 0.5 0.5 0.5 0.5) (local.get $x)) (local.get $x))))
        (local.set $co (f32x4.add (local.get $co) (local.get $k0)))
        ;; position j+1
        (local.set $x (f32x4.sub (local.get $p1) (local.get $vm)))
        (local.set $sp (f32x4.add (local.get $sp) (local.get $p1)))
        (local.set $dr (f32x4.add (local.get $dr) (f32x4.abs (local.get $x))))
        (local.set $en (f32x4.add (local.get $en) (f32x4.mul (f32x4.mul (v128.const f32x4 0.5 0.5 0.5 0.5) (local.get $x)) (local.get $x))))
        (local.set $co (f32x4.add (local.get $co) (local.get $k1)))
        ;; position j+2
        (local.set $x (f32x4.sub (local.get $p2) (local.get $vm)))
        (local.set $sp (f32x4.add (local.get $sp) (local.get $p2)))
        (local.set $dr (f32x4.add (local.get $dr) (f32x4.abs (local.get $x))))
        (local.set $en (f32x4.add (local.get $en) (f32x4.mul (f32x4.mul (v128.const f32x4 0.5 0.5 0.5 0.5) (local.get $x)) (local.get $x))))
        (local.set $co (f32x4.add (local.get $co) (local.get $k2)))
        ;; position j+3
        (local.set $x (f32x4.sub (local.get $p3) (local.get $vm)))
        (local.set $sp (f32x4.add (local.get $sp) (local.get $p3)))
        (local.set $dr (f32x4.add (local.get $dr) (f32x4.abs (local.get $x))))
        (local.set $en (f32x4.add (local.get $en) (f32x4.mul (f32x4.mul (v128.const f32x4 0.5 0.5 0.5 0.5) (local.get $x)) (local.get $x))))
        (local.set $co (f32x4.add (local.get $co) (local.get $k3)))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $step)))
    ;; partials are laid out chunk-major: [Σφ′, Σ|x|, Σ½x², Σκ′] per chunk,
    ;; which is the same 4×4 transpose of the four accumulators
    (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $sp) (local.get $dr)))
    (local.set $t1 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $en) (local.get $co)))
    (local.set $t2 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $sp) (local.get $dr)))
    (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $en) (local.get $co)))
    (v128.store offset=0 (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t1)))
    (v128.store offset=16 (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t1)))
    (v128.store offset=32 (local.get $dst) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t2) (local.get $t3)))
    (v128.store offset=48 (local.get $dst) (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t2) (local.get $t3))))

  ;; new phases and coherences of one chunk $c
  (func $map (param $pin i32) (param $kin i32) (param $pout i32) (param $kout i32)
             (param $n i32) (param $c i32) (param $g f32) (param $dl f32) (param $a f32) (param $b f32)
    (local $vg v128) (local $vdl v128) (local $va v128) (local $vb v128)
    (local $pc v128) (local $kc v128) (local $v v128)
    (local $s i32) (local $e i32) (local $i i32) (local $last i32) (local $vend i32) (local $o i32)
    (local.set $vg (f32x4.splat (local.get $g)))
    (local.set $vdl (f32x4.splat (local.get $dl)))
    (local.set $va (f32x4.splat (local.get $a)))
    (local.set $vb (f32x4.splat (local.get $b)))
    (local.set $last (i32.sub (local.get $n) (i32.const 1)))
        (local.set $s (i32.shl (local.get $c) (i32.const 12)))
        (local.set $e (i32.add (local.get $s) (i32.const 4096)))
        (if (i32.gt_u (local.get $e) (local.get $n)) (then (local.set $e (local.get $n))))
        (local.set $i (local.get $s))
        ;; pocket 0 wraps to the left
        (if (i32.eqz (local.get $i))
          (then
            (call $pocket (local.get $pin) (local.get $kin) (local.get $pout) (local.get $kout)
              (i32.const 0) (local.get $last) (i32.const 1) (local.get $g) (local.get $dl) (local.get $a) (local.get $b))
            (local.set $i (i32.const 1))))
        ;; four pockets at a time while all of them have a right neighbour in the array
        (local.set $vend (select (local.get $e) (local.get $last) (i32.lt_u (local.get $e) (local.get $last))))
        (block $vdone
          (loop $vec
            (br_if $vdone (i32.gt_u (i32.add (local.get $i) (i32.const 4)) (local.get $vend)))
            (local.set $o (i32.shl (local.get $i) (i32.const 2)))
            (local.set $pc (v128.load (i32.add (local.get $pin) (local.get $o))))
            (local.set $kc (v128.load (i32.add (local.get $kin) (local.get $o))))
            (v128.store (i32.add (local.get $pout) (local.get $o))
              (f32x4.sub
                (f32x4.add (local.get $pc)
                  (f32x4.mul (local.get $vg)
                    (f32x4.sub
                      (f32x4.mul (v128.const f32x4 0.5 0.5 0.5 0.5)
                        (f32x4.add (v128.load offset=0 (i32.sub (i32.add (local.get $pin) (local.get $o)) (i32.const 4)))
                                   (v128.load offset=4 (i32.add (local.get $pin) (local.get $o)))))
                      (local.get $pc))))
                (f32x4.mul (f32x4.mul (local.get $vdl) (local.get $pc)) (v128.const f32x4 0.01 0.01 0.01 0.01))))
            (local.set $v
              (f32x4.add
                (f32x4.add (local.get $kc)
                  (f32x4.mul (local.get $va)
                    (f32x4.sub
                      (f32x4.mul (v128.const f32x4 0.5 0.5 0.5 0.5)
                        (f32x4.add (v128.load offset=0 (i32.sub (i32.add (local.get $kin) (local.get $o)) (i32.const 4)))
                                   (v128.load offset=4 (i32.add (local.get $kin) (local.get $o)))))
                      (local.get $kc))))
                (local.get $vb)))
            ;; clamp(v, 0, 1): v < 0 → 0, else v > 1 → 1, else v (NaN and -0 pass)
            (local.set $v
              (v128.bitselect (v128.const f32x4 1 1 1 1) (local.get $v)
                (f32x4.gt (local.get $v) (v128.const f32x4 1 1 1 1))))
            (local.set $v
              (v128.bitselect (v128.const f32x4 0 0 0 0) (local.get $v)
                (f32x4.lt (local.get $v) (v128.const f32x4 0 0 0 0))))
            (v128.store (i32.add (local.get $kout) (local.get $o)) (local.get $v))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))
            (br $vec)))
        ;; the rest one by one; the ring's last pocket wraps to the right
        (block $sdone
          (loop $scalar
            (br_if $sdone (i32.ge_u (local.get $i) (local.get $e)))
            (call $pocket (local.get $pin) (local.get $kin) (local.get $pout) (local.get $kout)
              (local.get $i) (i32.sub (local.get $i) (i32.const 1))
              (select (i32.const 0) (i32.add (local.get $i) (i32.const 1)) (i32.eq (local.get $i) (local.get $last)))
              (local.get $g) (local.get $dl) (local.get $a) (local.get $b))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $scalar)))
  )

  (func (export "chunks")
        (param $pin i32) (param $kin i32) (param $pout i32) (param $kout i32)
        (param $n i32) (param $c0 i32) (param $c1 i32)
        (param $k f32) (param $m f32) (param $b f32) (param $part i32)
    (local $g f32) (local $dl f32) (local $a f32) (local $c i32) (local $e i32)
    (local.set $g (f32.mul (local.get $k) (f32.const 120)))
    (local.set $dl (f32.mul (local.get $k) (f32.const 15)))
    (local.set $a (f32.mul (local.get $k) (f32.const 60)))
    (local.set $c (local.get $c0))
    (block $done
      (loop $chunk
        (br_if $done (i32.ge_u (local.get $c) (local.get $c1)))
        (if (i32.and
              (i32.le_u (i32.add (local.get $c) (i32.const 4)) (local.get $c1))
              (i32.le_u (i32.shl (i32.add (local.get $c) (i32.const 4)) (i32.const 12)) (local.get $n)))
          (then
            ;; four whole chunks: map them, then reduce them side by side
            (call $map (local.get $pin) (local.get $kin) (local.get $pout) (local.get $kout) (local.get $n) (local.get $c)
              (local.get $g) (local.get $dl) (local.get $a) (local.get $b))
            (call $map (local.get $pin) (local.get $kin) (local.get $pout) (local.get $kout) (local.get $n) (i32.add (local.get $c) (i32.const 1))
              (local.get $g) (local.get $dl) (local.get $a) (local.get $b))
            (call $map (local.get $pin) (local.get $kin) (local.get $pout) (local.get $kout) (local.get $n) (i32.add (local.get $c) (i32.const 2))
              (local.get $g) (local.get $dl) (local.get $a) (local.get $b))
            (call $map (local.get $pin) (local.get $kin) (local.get $pout) (local.get $kout) (local.get $n) (i32.add (local.get $c) (i32.const 3))
              (local.get $g) (local.get $dl) (local.get $a) (local.get $b))
            (call $reduce4 (local.get $pout) (local.get $kout) (i32.shl (local.get $c) (i32.const 12)) (local.get $m)
              (i32.add (local.get $part) (i32.shl (local.get $c) (i32.const 4))))
            (local.set $c (i32.add (local.get $c) (i32.const 4))))
          (else
            (call $map (local.get $pin) (local.get $kin) (local.get $pout) (local.get $kout) (local.get $n) (local.get $c)
              (local.get $g) (local.get $dl) (local.get $a) (local.get $b))
            (local.set $e (i32.add (i32.shl (local.get $c) (i32.const 12)) (i32.const 4096)))
            (if (i32.gt_u (local.get $e) (local.get $n)) (then (local.set $e (local.get $n))))
            (call $reduce1 (local.get $pout) (local.get $kout) (i32.shl (local.get $c) (i32.const 12)) (local.get $e) (local.get $m)
              (i32.add (local.get $part) (i32.shl (local.get $c) (i32.const 4))))
            (local.set $c (i32.add (local.get $c) (i32.const 1)))))
        (br $chunk)))))
