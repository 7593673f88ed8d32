type A = { x: { y: { z: number } } };
const a: A = { x: { y: { z: "s" } } };
function f(cb: (n: number) => string) { return cb(1); }
f((s: string) => s);
