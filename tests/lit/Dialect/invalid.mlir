// RUN: attn-opt %s -split-input-file -verify-diagnostics

// expected-error @+1 {{needs at least the inputs q, k and v}}
attn.attention @no_v [#attn.input<q : f32[B, H, L, 64]>, #attn.input<k : f32[B, H, L, 64]>]
    weights softmax scale {
  %c = arith.constant 1.0 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{input #0 must be 'q', found 'k'}}
attn.attention @order [#attn.input<k : f32[B, H, L, 64]>, #attn.input<q : f32[B, H, L, 64]>, #attn.input<v : f32[B, H, L, 64]>]
    weights softmax scale {
  %c = arith.constant 1.0 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{input 'q' must have rank 4}}
attn.attention @rank [#attn.input<q : f32[B, H, L]>, #attn.input<k : f32[B, H, L, 64]>, #attn.input<v : f32[B, H, L, 64]>]
    weights softmax scale {
  %c = arith.constant 1.0 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{input 'q' must be a float tensor}}
attn.attention @int_q [#attn.input<q : i32[B, H, L, 64]>, #attn.input<k : f32[B, H, L, 64]>, #attn.input<v : f32[B, H, L, 64]>]
    weights softmax scale {
  %c = arith.constant 1.0 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{q and k must share the head dim}}
attn.attention @head_dim [#attn.input<q : f32[B, H, L, 64]>, #attn.input<k : f32[B, H, L, 32]>, #attn.input<v : f32[B, H, L, 32]>]
    weights softmax scale {
  %c = arith.constant 1.0 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{query heads (16) must be a multiple of kv heads (6)}}
attn.attention @heads [#attn.input<q : f32[B, 16, L, 64]>, #attn.input<k : f32[B, 6, L, 64]>, #attn.input<v : f32[B, 6, L, 64]>]
    weights softmax scale {
  %c = arith.constant 1.0 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{k and v must share heads and sequence}}
attn.attention @seq [#attn.input<q : f32[B, H, L, 64]>, #attn.input<k : f32[B, H, L, 64]>, #attn.input<v : f32[B, H, M, 64]>]
    weights softmax scale {
  %c = arith.constant 1.0 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{declares input 'x' twice}}
attn.attention @dup [#attn.input<q : f32[B, H, L, 64]>, #attn.input<k : f32[B, H, L, 64]>, #attn.input<v : f32[B, H, L, 64]>, #attn.input<x : f32[8]>, #attn.input<x : i32>]
    weights softmax scale {
  %c = arith.constant 1.0 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{'topk' must be given exactly when the weights are topk}}
attn.attention @topk_without_k [#attn.input<q : f32[B, H, L, 64]>, #attn.input<k : f32[B, H, L, 64]>, #attn.input<v : f32[B, H, L, 64]>]
    weights topk scale {
  %c = arith.constant 1.0 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{topk needs K >= 1, got 0}}
attn.attention @topk_zero [#attn.input<q : f32[B, H, L, 64]>, #attn.input<k : f32[B, H, L, 64]>, #attn.input<v : f32[B, H, L, 64]>]
    weights topk(0) scale {
  %c = arith.constant 1.0 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{the lse output needs softmax or topk weights}}
attn.attention @lse_sigmoid [#attn.input<q : f32[B, H, L, 64]>, #attn.input<k : f32[B, H, L, 64]>, #attn.input<v : f32[B, H, L, 64]>]
    weights sigmoid lse scale {
  %c = arith.constant 1.0 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{the score region must take 5 arguments}}
attn.attention @score_args [#attn.input<q : f32[B, H, L, 64]>, #attn.input<k : f32[B, H, L, 64]>, #attn.input<v : f32[B, H, L, 64]>]
    weights softmax scale {
  %c = arith.constant 1.0 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

attn.attention @mask_type [#attn.input<q : f32[B, H, L, 64]>, #attn.input<k : f32[B, H, L, 64]>, #attn.input<v : f32[B, H, L, 64]>]
    weights softmax scale {
  %c = arith.constant 1.0 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %f = arith.constant 1.0 : f32
  // expected-error @+1 {{in the mask region must yield 'i1', found 'f32'}}
  attn.yield %f : f32
}

// -----

attn.attention @unknown_dim [#attn.input<q : f32[B, H, L, 64]>, #attn.input<k : f32[B, H, L, 64]>, #attn.input<v : f32[B, H, L, 64]>]
    weights softmax scale {
  %c = arith.constant 1.0 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  // expected-error @+1 {{unknown dimension 'N'}}
  %n = attn.dim "N"
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

attn.attention @unknown_input [#attn.input<q : f32[B, H, L, 64]>, #attn.input<k : f32[B, H, L, 64]>, #attn.input<v : f32[B, H, L, 64]>]
    weights softmax scale {
  %c = arith.constant 1.0 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  // expected-error @+1 {{unknown input 'bias'}}
  %x = attn.load "bias"[] : f32
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

attn.attention @read_q [#attn.input<q : f32[B, H, L, 64]>, #attn.input<k : f32[B, H, L, 64]>, #attn.input<v : f32[B, H, L, 64]>]
    weights softmax scale {
  %c = arith.constant 1.0 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  // expected-error @+1 {{cannot read 'q'; q, k and v are not readable}}
  %x = attn.load "q"[%b, %h, %i, %j] : f32
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

attn.attention @load_rank [#attn.input<q : f32[B, H, L, 64]>, #attn.input<k : f32[B, H, L, 64]>, #attn.input<v : f32[B, H, L, 64]>, #attn.input<doc : i32[B, L]>]
    weights softmax scale {
  %c = arith.constant 1.0 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  // expected-error @+1 {{input 'doc' has rank 2 but 1 indices are given}}
  %x = attn.load "doc"[%b] : i64
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

attn.attention @load_type [#attn.input<q : f32[B, H, L, 64]>, #attn.input<k : f32[B, H, L, 64]>, #attn.input<v : f32[B, H, L, 64]>, #attn.input<doc : i32[B, L]>]
    weights softmax scale {
  %c = arith.constant 1.0 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  // expected-error @+1 {{reads 'doc' as 'i64', not 'f32'}}
  %x = attn.load "doc"[%b, %j] : f32
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{input 'q' must be f32, bf16, f16 or i32, not 'f64'}}
attn.attention @f64 [#attn.input<q : f64[B, H, L, 64]>, #attn.input<k : f32[B, H, L, 64]>, #attn.input<v : f32[B, H, L, 64]>]
    weights softmax scale {
  %c = arith.constant 1.0 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %t = arith.constant true
  attn.yield %t : i1
}

// -----

// expected-error @+1 {{dimension 0 of 'q' must be at least 1}}
attn.attention @zero_dim [#attn.input<q : f32[B, 0, L, 64]>, #attn.input<k : f32[B, H, L, 64]>, #attn.input<v : f32[B, H, L, 64]>]
    weights softmax scale {
  %c = arith.constant 1.0 : f32
  attn.yield %c : f32
} score {
^bb0(%s: f32, %b: i64, %h: i64, %i: i64, %j: i64):
  attn.yield %s : f32
} mask {
^bb0(%b: i64, %h: i64, %i: i64, %j: i64):
  %t = arith.constant true
  attn.yield %t : i1
}
