// Exceptions thrown and caught inside the module (standard and custom types,
// catch by base, rethrow, unwinding through several frames with cleanups,
// exception_ptr), exceptions thrown by the C++ runtime (vector::at, bad_cast,
// bad_alloc-free), dynamic_cast and typeid.
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

namespace {

int failures = 0;
void check(bool ok, const char* what) {
  if (!ok) {
    std::printf("FAIL: %s\n", what);
    ++failures;
  }
}

struct AppError : std::exception {
  explicit AppError(int code) : code(code) {}
  const char* what() const noexcept override { return "AppError"; }
  int code;
};
struct IoError : AppError {
  IoError(int code, std::string path) : AppError(code), path(std::move(path)) {}
  const char* what() const noexcept override { return "IoError"; }
  std::string path;
};
struct DiskFull final : IoError {
  using IoError::IoError;
  const char* what() const noexcept override { return "DiskFull"; }
};

struct Guard {
  explicit Guard(const char* name) : name(name) { std::printf("  enter %s\n", name); }
  ~Guard() { std::printf("  leave %s\n", name); }
  const char* name;
};

int depth_reached = 0;

[[noreturn]] void throw_at_bottom(int kind) {
  Guard g("bottom");
  switch (kind) {
    case 0: throw std::runtime_error("runtime failure at depth 4");
    case 1: throw IoError(5, "/dev/sda");
    case 2: throw DiskFull(28, "/var");
    case 3: throw 42;
    default: throw std::string("a string");
  }
}
int level3(int kind) {
  Guard g("level3");
  depth_reached = 3;
  throw_at_bottom(kind);
}
int level2(int kind) {
  Guard g("level2");
  std::vector<std::string> temp{"some", "heap", "strings"};
  return level3(kind) + int(temp.size());
}
int level1(int kind) {
  Guard g("level1");
  return level2(kind) + 1;
}

int noexcept_sum(int a, int b) noexcept { return a + b; }

void rethrower() {
  try {
    level1(1);
  } catch (AppError& e) {
    std::printf("rethrower caught %s code=%d, rethrowing\n", e.what(), e.code);
    e.code += 100;
    throw;
  }
}

struct Animal {
  virtual ~Animal() = default;
  virtual const char* sound() const = 0;
};
struct Dog : Animal {
  const char* sound() const override { return "woof"; }
};
struct Cat : Animal {
  const char* sound() const override { return "meow"; }
};
struct Robot {
  virtual ~Robot() = default;
  int serial = 7;
};
struct RoboDog : Dog, Robot {
  const char* sound() const override { return "beep-woof"; }
};

}  // namespace

int main() {
  for (int kind = 0; kind < 5; ++kind) {
    std::printf("kind %d:\n", kind);
    try {
      level1(kind);
      std::printf("  not reached\n");
    } catch (const DiskFull& e) {
      std::printf("  caught DiskFull %s code=%d path=%s\n", e.what(), e.code, e.path.c_str());
    } catch (const AppError& e) {  // catch by base
      std::printf("  caught AppError-by-base %s code=%d\n", e.what(), e.code);
    } catch (const std::exception& e) {
      std::printf("  caught std::exception %s\n", e.what());
    } catch (int n) {
      std::printf("  caught int %d\n", n);
    } catch (...) {
      std::printf("  caught something else\n");
    }
  }
  check(depth_reached == 3, "depth reached");

  try {
    rethrower();
  } catch (const IoError& e) {
    std::printf("rethrown IoError code=%d path=%s\n", e.code, e.path.c_str());
    check(e.code == 105, "rethrow keeps the same object");
  }

  // Runtime-originated exceptions caught in the module.
  std::vector<int> v{1, 2, 3};
  try {
    std::printf("v.at(10)=%d\n", v.at(10));
  } catch (const std::out_of_range& e) {
    std::printf("caught out_of_range from the runtime: %s\n", typeid(e).name());
  }
  try {
    std::map<std::string, int> m;
    m.at("missing");
  } catch (const std::logic_error& e) {
    std::printf("caught map::at as logic_error: %s\n", typeid(e).name());
  }
  try {
    std::string s("abc");
    s.substr(10);
  } catch (const std::exception& e) {
    std::printf("caught string::substr as std::exception\n");
  }

  // exception_ptr across a catch.
  std::exception_ptr saved;
  try {
    throw std::invalid_argument("saved for later");
  } catch (...) {
    saved = std::current_exception();
  }
  try {
    std::rethrow_exception(saved);
  } catch (const std::invalid_argument& e) {
    std::printf("rethrow_exception: %s\n", e.what());
  }

  // Nested try blocks, catch and throw a different type.
  try {
    try {
      throw std::runtime_error("inner");
    } catch (const std::runtime_error& e) {
      throw AppError(int(std::string(e.what()).size()));
    }
  } catch (const AppError& e) {
    std::printf("translated exception code=%d\n", e.code);
  }

  std::printf("noexcept_sum=%d\n", noexcept_sum(40, 2));

  // dynamic_cast and typeid.
  std::vector<std::unique_ptr<Animal>> zoo;
  zoo.push_back(std::make_unique<Dog>());
  zoo.push_back(std::make_unique<Cat>());
  zoo.push_back(std::make_unique<RoboDog>());
  for (const auto& a : zoo) {
    const Dog* dog = dynamic_cast<const Dog*>(a.get());
    const Robot* robot = dynamic_cast<const Robot*>(a.get());  // cross-cast
    std::printf("%s: %s dog=%s robot=%s typeid-is-RoboDog=%d\n", typeid(*a).name(), a->sound(),
                dog ? "yes" : "no", robot ? "yes" : "no", typeid(*a) == typeid(RoboDog));
    if (robot) std::printf("  robot serial %d\n", robot->serial);
  }
  try {
    Cat cat;
    Animal& animal = cat;
    Dog& dog = dynamic_cast<Dog&>(animal);
    std::printf("not reached %s\n", dog.sound());
  } catch (const std::bad_cast& e) {
    std::printf("caught bad_cast\n");
  }
  std::printf("typeid(int)=%s typeid(AppError)=%s same=%d\n", typeid(int).name(), typeid(AppError).name(),
              typeid(DiskFull).before(typeid(AppError)) || !typeid(DiskFull).before(typeid(AppError)));

  std::printf("failures=%d\n", failures);
  return failures;
}
