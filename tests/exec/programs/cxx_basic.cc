// Classes with virtual functions and multiple inheritance, templates from the
// standard library (vector, map, string, sort with a lambda, function,
// unique_ptr), iostream output, static objects whose constructor and destructor
// order is printed, function-local statics, and new/delete.
#include <algorithm>
#include <cstdio>
#include <functional>
#include <iomanip>
#include <iostream>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Tracer {
  explicit Tracer(const char* name) : name_(name) { std::printf("construct %s\n", name_); }
  ~Tracer() { std::printf("destroy %s\n", name_); }
  const char* name_;
};

Tracer first_static("first static");
Tracer second_static("second static");

Tracer& lazy_tracer() {
  static Tracer lazy("function-local static");
  return lazy;
}

class Shape {
 public:
  virtual ~Shape() { ++destroyed; }
  virtual double area() const = 0;
  virtual std::string name() const { return "shape"; }
  static int destroyed;
};
int Shape::destroyed = 0;

class Circle : public Shape {
 public:
  explicit Circle(double r) : r_(r) {}
  double area() const override { return 3.0 * r_ * r_; }
  std::string name() const override { return "circle"; }

 private:
  double r_;
};

class Rect : public Shape {
 public:
  Rect(double w, double h) : w_(w), h_(h) {}
  double area() const override { return w_ * h_; }
  std::string name() const override { return "rect(" + std::to_string(int(w_)) + "x" + std::to_string(int(h_)) + ")"; }

 protected:
  double w_, h_;
};

class Square final : public Rect {
 public:
  explicit Square(double s) : Rect(s, s) {}
  std::string name() const override { return "square:" + Rect::name(); }
};

// Multiple inheritance: calls through the second base need this-adjusting thunks.
struct Printable {
  virtual ~Printable() = default;
  virtual std::string describe() const = 0;
  int printable_tag = 11;
};
struct Counted {
  virtual ~Counted() = default;
  virtual int count() const { return 0; }
  int counted_tag = 22;
};
class Widget : public Printable, public Counted {
 public:
  explicit Widget(int n) : n_(n) { ++live; }
  ~Widget() override { --live; }
  std::string describe() const override { return "widget#" + std::to_string(n_); }
  int count() const override { return n_ * 10 + counted_tag; }
  static int live;

 private:
  int n_;
};
int Widget::live = 0;

// Class-specific allocation.
struct Node {
  static int allocations;
  static void* operator new(std::size_t size) {
    ++allocations;
    return ::operator new(size);
  }
  static void operator delete(void* p) { ::operator delete(p); }
  int value;
  Node* next;
};
int Node::allocations = 0;

template <typename T>
T sum_of(const std::vector<T>& v) {
  return std::accumulate(v.begin(), v.end(), T{});
}

template <int N>
struct Factorial {
  static constexpr long value = N * Factorial<N - 1>::value;
};
template <>
struct Factorial<0> {
  static constexpr long value = 1;
};

}  // namespace

int main(int argc, char** argv) {
  std::cout << "main starts, lazy: " << lazy_tracer().name_ << "\n";

  std::vector<std::unique_ptr<Shape>> shapes;
  shapes.push_back(std::make_unique<Circle>(2.5));
  shapes.push_back(std::make_unique<Rect>(3.0, 4.0));
  shapes.push_back(std::make_unique<Square>(5.0));
  shapes.push_back(std::make_unique<Circle>(1.0));
  std::sort(shapes.begin(), shapes.end(),
            [](const auto& a, const auto& b) { return a->area() < b->area(); });
  for (const auto& s : shapes)
    std::cout << std::setw(16) << std::left << s->name() << " area=" << std::fixed << std::setprecision(2)
              << s->area() << "\n";
  shapes.clear();
  std::cout << "shapes destroyed: " << Shape::destroyed << "\n";

  {
    std::vector<Widget*> widgets;
    for (int i = 1; i <= 3; ++i) widgets.push_back(new Widget(i));
    for (Widget* w : widgets) {
      Printable* p = w;
      Counted* c = w;
      std::cout << p->describe() << " count=" << c->count() << " tags=" << p->printable_tag << ","
                << c->counted_tag << "\n";
    }
    std::cout << "live widgets: " << Widget::live << "\n";
    for (Widget* w : widgets) {
      Counted* c = w;
      delete c;  // virtual destructor through the second base
    }
    std::cout << "live widgets after delete: " << Widget::live << "\n";
  }

  std::map<std::string, int> words;
  std::istringstream text("the quick brown fox jumps over the lazy dog the end fox");
  for (std::string w; text >> w;) ++words[w];
  for (const auto& [word, n] : words) std::cout << word << ":" << n << " ";
  std::cout << "\n";

  std::vector<int> v{9, 3, 7, 1, 8, 2, 6, 4, 5, 0};
  std::sort(v.begin(), v.end(), [](int a, int b) { return (a % 3) != (b % 3) ? (a % 3) < (b % 3) : a > b; });
  for (int x : v) std::cout << x << ' ';
  std::cout << "sum=" << sum_of(v) << "\n";
  std::vector<double> d{0.5, 0.25, 0.125};
  std::cout << "double sum=" << sum_of(d) << "\n";
  std::cout << "factorial<15>=" << Factorial<15>::value << "\n";

  std::function<int(int)> square = [](int x) { return x * x; };
  int offset = argc * 100;
  std::function<int(int)> shifted = [&](int x) { return square(x) + offset; };
  std::cout << "function: " << square(12) << " " << shifted(3) << "\n";

  Node* list = nullptr;
  for (int i = 0; i < 5; ++i) list = new Node{i * i, list};
  int total = 0;
  while (list) {
    Node* next = list->next;
    total += list->value;
    delete list;
    list = next;
  }
  int* array = new int[100]();
  array[99] = 5;
  std::cout << "nodes: allocations=" << Node::allocations << " total=" << total << " array=" << array[0] + array[99]
            << "\n";
  delete[] array;

  std::string s = "modkit";
  s += std::string(3, '!');
  s.insert(0, "<");
  s.append(">");
  std::cout << s << " size=" << s.size() << " find=" << s.find("kit") << " upper=";
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  std::cout << s << std::endl;
  std::cerr << "cerr: argv[0] present: " << (argv[0] != nullptr) << "\n";
  return 0;
}
