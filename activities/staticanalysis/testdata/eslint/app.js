const unused = 1;
function run(a) {
  if (a == null) {
    return undefinedThing;
  }
  debugger;
  return a
}
run(2);
