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

  (func (export "chunks")
        (param $pin i32) (param $kin i32) (param $pout i32) (param $kout i32)
        (param $n i32) (param $c0 i32) (param $c1 i32)
        (param $k f32) (param $m f32) (param $b f32) (param $part i32)
    (local $g f32) (local $dl f32) (local $a f32)
    (local $vg v128) (local $vdl v128) (local $va v128) (local $vb v128)
    (local $pc v128) (local $kc v128) (local $v v128)
    (local $c i32) (local $s i32) (local $e i32) (local $i i32) (local $last i32) (local $vend i32) (local $o i32)
    (local $sp f32) (local $dr f32) (local $en f32) (local $co f32) (local $x f32) (local $pn f32)
    (local.set $g (f32.mul (local.get $k) (f32.const 120)))
    (local.set $dl (f32.mul (local.get $k) (f32.const 15)))
    (local.set $a (f32.mul (local.get $k) (f32.const 60)))
    (local.set $vg (f32x4.splat (local.get $g)))
    (local.set $vdl (f32x4.splat (local.get $dl)))
    (local.set $va (f32x4.splat (local.get $a)))
    (local.set $vb (f32x4.splat (local.get $b)))
    (local.set $last (i32.sub (local.get $n) (i32.const 1)))
    (local.set $c (local.get $c0))
    (block $done
      (loop $chunk
        (br_if $done (i32.ge_u (local.get $c) (local.get $c1)))
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
        ;; sequential float32 sums over the chunk, in pocket order
        (local.set $sp (f32.const 0))
        (local.set $dr (f32.const 0))
        (local.set $en (f32.const 0))
        (local.set $co (f32.const 0))
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
        (local.set $o (i32.add (local.get $part) (i32.shl (local.get $c) (i32.const 4))))
        (f32.store offset=0 (local.get $o) (local.get $sp))
        (f32.store offset=4 (local.get $o) (local.get $dr))
        (f32.store offset=8 (local.get $o) (local.get $en))
        (f32.store offset=12 (local.get $o) (local.get $co))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $chunk)))))
