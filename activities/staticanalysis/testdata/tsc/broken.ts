interface User {
  name: string;
  age: number;
}

const user: User = { name: "Ada", age: "36" };

function greet(u: User): string {
  return "Hello, " + u.nmae;
}

let count: number = "three";
greet(user, 1);
