// The benchmark's corpus: kernel-module-like C sources generated from a
// shape, compiled with the compiler's default flags as a relocatable object
// (for modkit) and as a shared object (-shared -fPIC, for dlopen), cached in
// a work directory by a hash of source and command.
//
// A generated module has an ops table of functions; each function calls
// imported kernel functions with string constants, reads imported kernel
// data, updates module state and (guarded, so init stays linear) calls other
// module functions; every few functions one is exported. Its init calls every
// entry of the ops table once. Global names carry kTag (object_info.h).
#pragma once

#include <stddef.h>
#include <stdint.h>

#include <string>
#include <vector>

#include "object_info.h"

namespace bench {

struct Shape {
  const char* name;
  int funcs;         // functions in the ops table
  int kfuncs;        // distinct imported kernel functions
  int kdata;         // distinct imported kernel data arrays
  int kcalls;        // per function: kernel calls, each with its own string constant
  int kreads;        // per function: reads of kernel data
  int states;        // per function: updates of module state
  int mcalls;        // per function: guarded calls to other module functions
  int filler;        // per function: arithmetic statements (code without relocations)
  int export_every;  // every k-th function is global
};

// The three sizes of issue 8: one function; typical (~65 KiB of text, ~2,660
// relocations, 20 imported symbols); big (~1 MB of text, ~41,000 relocations).
const Shape& shape_one();
const Shape& shape_typical();
const Shape& shape_big();
const Shape* shape_by_name(const std::string& name);

std::string generate_source(const Shape& shape);

struct Module {
  std::string kind;
  std::string source_path, obj_path, so_path;
  std::vector<uint8_t> obj;  // the .o, in memory
  ObjectInfo info;
  std::vector<std::string> exports;  // global names (untagged copy, id 0): init first
};

// Generates and compiles `shape` under work_dir (reusing cached outputs).
bool build_module(const Shape& shape, const std::string& work_dir, const std::string& cc,
                  Module* out, std::string* err);

// Paths of `count` distinct copies of the module's shared object (dlopen
// treats one file as one object, whatever the path), created when missing.
bool so_copies(const Module& m, const std::string& work_dir, size_t count,
               std::vector<std::string>* paths, std::string* err);

}  // namespace bench
