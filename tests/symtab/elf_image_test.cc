// ElfImageWriter's program headers (symtab/elf_image.h): where segments and
// the sections inside them land in the file, and the refusals. The writer's
// sections and symbols are covered through its users (ksyms_test, and
// tools/link_test, which reads every `modkit link` output with readelf).
#include "symtab/elf_image.h"

#include <gtest/gtest.h>
#include <string.h>

#include <vector>

#include "elf/elf.h"
#include "support/test_allocator.h"

namespace mk::symtab {
namespace {

using namespace mk::elf;

struct Written {
  Ehdr eh;
  std::vector<Phdr> ph;
  std::vector<Shdr> sh;
  std::vector<uint8_t> bytes;
};

Written Parse(const Vec<uint8_t>& out) {
  Written w;
  w.bytes.assign(out.begin(), out.end());
  memcpy(&w.eh, w.bytes.data(), sizeof w.eh);
  w.ph.resize(w.eh.phnum);
  if (w.eh.phnum != 0) memcpy(w.ph.data(), w.bytes.data() + w.eh.phoff, w.eh.phnum * sizeof(Phdr));
  w.sh.resize(w.eh.shnum);
  memcpy(w.sh.data(), w.bytes.data() + w.eh.shoff, w.eh.shnum * sizeof(Shdr));
  return w;
}

TEST(ElfImageSegments, SectionsLieInTheirSegmentsBytes) {
  mk::testing::TestAllocator alloc;
  // A text block of 0x30 bytes at 0x10000, a data block at 0x11000 of which
  // 0x10 are in the file and 0x100 in memory (a .bss after them).
  std::vector<uint8_t> text(0x30), data(0x10);
  for (size_t i = 0; i < text.size(); ++i)
    text[i] = static_cast<uint8_t>(0xa0 + i);
  for (size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<uint8_t>(i + 1);
  {
    ElfImageWriter image(alloc);
    ImageSection t;
    t.name = ".text";
    t.flags = SHF_ALLOC | SHF_EXECINSTR;
    t.addr = 0x10000;
    t.size = 0x20;
    t.data = text.data();
    ImageSection stubs = t;
    stubs.name = ".stubs";
    stubs.addr = 0x10020;
    stubs.size = 0x10;
    stubs.data = text.data() + 0x20;
    ImageSection d;
    d.name = ".data";
    d.flags = SHF_ALLOC | SHF_WRITE;
    d.addr = 0x11000;
    d.size = 0x10;
    d.data = data.data();
    ImageSection bss = d;
    bss.name = ".bss";
    bss.type = SHT_NOBITS;
    bss.addr = 0x11010;
    bss.size = 0xf0;
    bss.data = nullptr;
    ImageSection note;
    note.name = ".comment";
    note.data = reinterpret_cast<const uint8_t*>("hi");
    note.size = 2;
    for (const ImageSection* s : {&d, &t, &note, &bss, &stubs})  // not in address order
      ASSERT_TRUE(image.add(*s));
    ImageSegment rx{PT_LOAD, PF_R | PF_X, 0x10000, text.data(), 0x30, 0x30, 0x1000};
    ImageSegment rw{PT_LOAD, PF_R | PF_W, 0x11000, data.data(), 0x10, 0x100, 0x1000};
    ASSERT_TRUE(image.add_segment(rx));
    ASSERT_TRUE(image.add_segment(rw));
    Vec<uint8_t> out(alloc);
    ASSERT_TRUE(image.write(ET_EXEC, EM_X86_64, &out));
    Written w = Parse(out);
    EXPECT_EQ(w.eh.phoff, sizeof(Ehdr));
    EXPECT_EQ(w.eh.phentsize, sizeof(Phdr));
    ASSERT_EQ(w.eh.phnum, 2u);
    EXPECT_EQ(w.ph[0].type, PT_LOAD);
    EXPECT_EQ(w.ph[0].flags, PF_R | PF_X);
    EXPECT_EQ(w.ph[0].offset, 0x1000u);  // the first page after the headers
    EXPECT_EQ(w.ph[0].vaddr, 0x10000u);
    EXPECT_EQ(w.ph[0].paddr, 0x10000u);
    EXPECT_EQ(w.ph[0].filesz, 0x30u);
    EXPECT_EQ(w.ph[0].memsz, 0x30u);
    EXPECT_EQ(w.ph[0].align, 0x1000u);
    EXPECT_EQ(w.ph[1].offset, 0x2000u);
    EXPECT_EQ(w.ph[1].filesz, 0x10u);
    EXPECT_EQ(w.ph[1].memsz, 0x100u);
    EXPECT_EQ(memcmp(w.bytes.data() + 0x1000, text.data(), text.size()), 0);
    EXPECT_EQ(memcmp(w.bytes.data() + 0x2000, data.data(), data.size()), 0);
    // Sections in the order added: .data, .text, .comment, .bss, .stubs.
    EXPECT_EQ(w.sh[1].offset, 0x2000u);
    EXPECT_EQ(w.sh[2].offset, 0x1000u);
    EXPECT_GE(w.sh[3].offset, 0x2010u);  // not in a segment: after them
    EXPECT_EQ(memcmp(w.bytes.data() + w.sh[3].offset, "hi", 2), 0);
    EXPECT_EQ(w.sh[4].offset, 0x2010u);
    EXPECT_EQ(w.sh[5].offset, 0x1020u);
  }
  EXPECT_EQ(alloc.live_bytes(), 0u);
}

TEST(ElfImageSegments, NoSegmentsNoProgramHeaders) {
  mk::testing::TestAllocator alloc;
  ElfImageWriter image(alloc);
  ImageSection t;
  t.name = ".text";
  t.flags = SHF_ALLOC;
  t.addr = 0x4000;
  t.size = 4;
  t.data = reinterpret_cast<const uint8_t*>("abcd");
  ASSERT_TRUE(image.add(t));
  Vec<uint8_t> out(alloc);
  ASSERT_TRUE(image.write(ET_EXEC, EM_X86_64, &out));
  Written w = Parse(out);
  EXPECT_EQ(w.eh.phnum, 0u);
  EXPECT_EQ(w.eh.phoff, 0u);
  EXPECT_EQ(w.sh[1].offset, sizeof(Ehdr));  // as before segments existed
}

TEST(ElfImageSegments, Refusals) {
  mk::testing::TestAllocator alloc;
  ElfImageWriter image(alloc);
  auto r = image.add_segment(ImageSegment{PT_LOAD, PF_R, 0x1000, nullptr, 0, 0x10, 0x300});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::kRange);
  EXPECT_STREQ(r.error().message(),
               "ELF image: segment at 0x1000 (0x10 bytes, 0x0 in the file, align 0x300) is not a "
               "valid program header");
  auto r2 = image.add_segment(ImageSegment{PT_LOAD, PF_R, 0x1000, nullptr, 0x20, 0x10, 0x1000});
  ASSERT_FALSE(r2);
  EXPECT_STREQ(r2.error().message(),
               "ELF image: segment at 0x1000 (0x10 bytes, 0x20 in the file, align 0x1000) is not "
               "a valid program header");
  auto r3 = image.add_segment(ImageSegment{PT_LOAD, PF_R, UINT64_MAX - 4, nullptr, 0, 0x10, 1});
  ASSERT_FALSE(r3);  // past the end of the address space
  // A section whose contents reach past the file part of its segment.
  uint8_t bytes[0x20] = {};
  ASSERT_TRUE(image.add_segment(ImageSegment{PT_LOAD, PF_R, 0x1000, bytes, 0x10, 0x20, 0x1000}));
  ImageSection s;
  s.name = ".rodata";
  s.flags = SHF_ALLOC;
  s.addr = 0x1008;
  s.size = 0x10;
  s.data = bytes;
  ASSERT_TRUE(image.add(s));
  Vec<uint8_t> out(alloc);
  auto w = image.write(ET_EXEC, EM_X86_64, &out);
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), Errc::kRange);
  EXPECT_STREQ(w.error().message(),
               "ELF image: section at 0x1008 (0x10 bytes) reaches past the file part of its "
               "segment at 0x1000 (0x10 bytes)");
  EXPECT_EQ(out.size(), 0u);  // nothing written
}

}  // namespace
}  // namespace mk::symtab
