;; The demo package's component: a core module that says it is ready and returns `ok` from wasi:cli/run.
;; scripts/demo.ts embeds the `hello` world of hello.wit into it and wraps it as a component with jco.
(module
  (import "weft:app/notify@0.1.0" "ready" (func $ready))
  (memory (export "memory") 1)
  (func (export "wasi:cli/run@0.2.0#run") (result i32)
    call $ready
    ;; result<_, _> is lowered to a discriminant: 0 = ok
    i32.const 0))
