// The SIMD scanning kernels agree with their scalar twins on random and corpus inputs, and never
// read past the end of their range (each input is put right before a PROT_NONE page).
#include "sip/scan.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

namespace fs = std::filesystem;
using namespace tandem::sip::scan;

namespace {

// Two+ pages, the last PROT_NONE: data copied so that it ends exactly at the guard.
class guarded {
public:
    explicit guarded(size_t max) {
        _page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
        _pages = (max + _page - 1) / _page + 1;
        _len = (_pages + 1) * _page;
        void* m = mmap(nullptr, _len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        EXPECT_NE(m, MAP_FAILED);
        _base = static_cast<char*>(m);
        EXPECT_EQ(mprotect(_base + _pages * _page, _page, PROT_NONE), 0);
    }
    ~guarded() { munmap(_base, _len); }
    guarded(const guarded&) = delete;
    guarded& operator=(const guarded&) = delete;
    const char* place(const std::string& s) {
        char* p = _base + _pages * _page - s.size();
        std::memcpy(p, s.data(), s.size());
        return p;
    }

private:
    size_t _page = 0, _pages = 0, _len = 0;
    char* _base = nullptr;
};

// Byte sets for the class-run kernel: long runs on the random inputs below (letters), the URI
// class, everything ASCII (a run to the end unless a byte >= 0x80 stops it) and nothing.
const byte_set k_sets[] = {
    make_byte_set([](unsigned c) { return c >= 'a' && c <= 'z'; }),
    make_byte_set(
        [](unsigned c) { return c > 0x20 && c < 0x7f && c != '<' && c != '>' && c != '"'; }),
    make_byte_set([](unsigned) { return true; }),
    make_byte_set([](unsigned) { return false; }),
};

void check_all(const char* p, size_t n) {
    for (const byte_set& set : k_sets) {
        size_t run = 0;
        while (run < n && static_cast<unsigned char>(p[run]) < 0x80 &&
               set.contains(static_cast<unsigned char>(p[run])))
            ++run;
        ASSERT_EQ(span_scalar(p, n, set), run);
        ASSERT_EQ(span(p, n, set), run);
        if (have_ssse3()) {
            ASSERT_EQ(span_ssse3(p, n, set), run);
        }
    }
    // The block index against the scalar search, from every start (cheap: n < a few KB).
    eol_index idx(p, n);
    for (size_t from = 0; from <= n; from += 1 + from / 64) {
        ASSERT_EQ(idx.next(from), from + find_eol_scalar(p + from, n - from)) << from;
    }
    // The structural index: line ends from every start, list delimiters in [from, end) for
    // ends at and before the range's end, walked forward as the parser does.
    structural_index sidx(p, n);
    for (size_t from = 0; from <= n; from += 1 + from / 64) {
        ASSERT_EQ(sidx.next_eol(from), from + find_eol_scalar(p + from, n - from)) << from;
        for (size_t end : {n, from + (n - from) / 2, from + (n - from) / 5}) {
            ASSERT_EQ(sidx.next_delim(from, end),
                      from + find_list_delim_scalar(p + from, end - from))
                << from << " " << end;
        }
    }
    for (size_t from = 0, end = n; from < end;) {
        size_t d = sidx.next_delim(from, end);
        ASSERT_EQ(d, from + find_list_delim_scalar(p + from, end - from)) << from;
        from = d + 1;
    }
    // delim_walk: each step is the search from just past the previous delimiter; after a
    // backslash it seeks two bytes on, as the parser does inside a quoted string.
    for (size_t start : {size_t{0}, n / 3, n / 2 + 1}) {
        if (start > n) continue;
        for (size_t end : {n, start + (n - start) / 2, start}) { // start: an empty walk
            delim_walk walk(sidx, start, end);
            size_t from = start;
            for (;;) {
                const size_t want = from + find_list_delim_scalar(p + from, end - from);
                const size_t got = walk.next();
                ASSERT_EQ(got, want) << start << " " << end << " " << from;
                if (got >= end) break;
                from = got + 1;
                if (p[got] == '\\') {
                    walk.seek(got + 2);
                    from = got + 2 < end ? got + 2 : end;
                }
            }
        }
    }
    if (n >= 64) {
        EXPECT_EQ(delim_mask64(p), delim_mask_scalar(p, 64));
        EXPECT_EQ(delim_mask64_sse2(p), delim_mask_scalar(p, 64));
        if (have_avx2()) {
            EXPECT_EQ(delim_mask64_avx2(p), delim_mask_scalar(p, 64));
        }
        EXPECT_EQ(eol_mask64(p), eol_mask_scalar(p, 64));
        EXPECT_EQ(eol_mask64_sse2(p), eol_mask_scalar(p, 64));
        if (have_avx2()) {
            EXPECT_EQ(eol_mask64_avx2(p), eol_mask_scalar(p, 64));
        }
    }
    size_t k = n < 64 ? n : 64;
    EXPECT_EQ(eol_mask_partial(p + n - k, k), eol_mask_scalar(p + n - k, k));
    EXPECT_EQ(delim_mask_partial(p + n - k, k), delim_mask_scalar(p + n - k, k));
    size_t eol = find_eol_scalar(p, n);
    EXPECT_EQ(find_eol_sse2(p, n), eol);
    EXPECT_EQ(find_eol(p, n), eol);
    const bool any = eol != n;
    EXPECT_EQ(has_eol_scalar(p, n), any);
    EXPECT_EQ(has_eol_swar(p, n), any);
    EXPECT_EQ(has_eol_sse2(p, n), any);
    EXPECT_EQ(has_eol(p, n), any);
    size_t d = find_list_delim_scalar(p, n);
    EXPECT_EQ(find_list_delim_sse2(p, n), d);
    EXPECT_EQ(find_list_delim(p, n), d);
    if (have_avx2()) {
        EXPECT_EQ(find_eol_avx2(p, n), eol);
        EXPECT_EQ(find_list_delim_avx2(p, n), d);
    }
}

} // namespace

TEST(SipScan, ScalarTwinDefinesTheResult) {
    std::string s = "abc\r\ndef";
    EXPECT_EQ(find_eol_scalar(s.data(), s.size()), 3u);
    EXPECT_EQ(find_eol_scalar(s.data(), 3), 3u);
    EXPECT_EQ(find_eol_scalar("x\ny", 3), 1u);
    EXPECT_EQ(find_list_delim_scalar("ab<c", 4), 2u);
    EXPECT_EQ(find_list_delim_scalar("abc", 3), 3u);
    EXPECT_EQ(find_list_delim_scalar("a\\", 2), 1u);
    EXPECT_EQ(delim_mask_scalar("a,b<\"x>\\", 8), 0b11011010u);
    EXPECT_EQ(delim_mask_scalar("a,b", 1), 0u);
}

TEST(SipScan, EolIndexWalksLinesInOrder) {
    std::string s = "a\r\nbb\r\n" + std::string(100, 'x') + "\r\n\r\n";
    eol_index idx(s.data(), s.size());
    EXPECT_EQ(idx.next(0), 1u);
    EXPECT_EQ(idx.next(2), 2u);
    EXPECT_EQ(idx.next(3), 5u);
    EXPECT_EQ(idx.next(7), 107u);
    EXPECT_EQ(idx.next(109), 109u);
    EXPECT_EQ(idx.next(111), s.size());
    EXPECT_EQ(idx.next(0), 1u); // going back re-reads the block
}

TEST(SipScan, ByteSetSpanStopsAtTheFirstByteOutside) {
    const byte_set digits = make_byte_set([](unsigned c) { return c >= '0' && c <= '9'; });
    EXPECT_TRUE(digits.contains('0'));
    EXPECT_FALSE(digits.contains('a'));
    EXPECT_FALSE(digits.contains(0xb0)); // '0' + 0x80: never in a set
    std::string s = std::string(40, '7') + "x" + std::string(20, '1');
    for (size_t n = 0; n <= s.size(); ++n) {
        size_t want = n < 40 ? n : 40;
        EXPECT_EQ(span_scalar(s.data(), n, digits), want) << n;
        EXPECT_EQ(span(s.data(), n, digits), want) << n;
        EXPECT_EQ(span(s.data() + 41, n < 20 ? n : 20, digits), n < 20 ? n : 20) << n;
    }
    s[17] = '\xb7';
    EXPECT_EQ(span(s.data(), s.size(), digits), 17u);
}

TEST(SipScan, StructuralIndexFindsDelimitersInsideTheGivenEnd) {
    std::string s = "Allow: A, B\r\n" + std::string(70, 'x') + ",<\"\r\n";
    structural_index idx(s.data(), s.size());
    EXPECT_EQ(idx.next_eol(0), 11u);
    EXPECT_EQ(idx.next_delim(0, 11), 8u);
    EXPECT_EQ(idx.next_delim(9, 11), 11u); // the ',' past the end is not reported
    EXPECT_EQ(idx.next_delim(9, s.size()), 83u);
    EXPECT_EQ(idx.next_delim(84, s.size()), 84u);
    EXPECT_EQ(idx.next_delim(85, s.size()), 85u);
    EXPECT_EQ(idx.next_delim(86, s.size()), s.size());
    EXPECT_EQ(idx.next_delim(0, 8), 8u); // going back re-reads the block
    EXPECT_EQ(idx.next_eol(13), 86u);
}

// The AVX2 delimiter and line-end kernels classify by nibbles: every byte value at every
// seventh position of a block, among fill bytes that share a nibble with a delimiter or CR,
// gets the scalar twins' answers.
TEST(SipScan, DelimMaskMatchesScalarForEveryByteValue) {
    guarded g(64);
    for (const char fill : {'x', ',', '\r', '2', '.', 'R', '^', '\x8c'}) {
        for (unsigned c = 0; c < 256; ++c) {
            for (size_t at = 0; at < 64; at += 7) {
                std::string s(64, fill);
                s[at] = static_cast<char>(c);
                const char* p = g.place(s);
                const uint64_t want = delim_mask_scalar(p, 64);
                ASSERT_EQ(delim_mask64_sse2(p), want) << c << " " << at;
                ASSERT_EQ(delim_mask64(p), want) << c << " " << at;
                if (have_avx2()) {
                    ASSERT_EQ(delim_mask64_avx2(p), want) << c << " " << at;
                }
                const uint64_t eol = eol_mask_scalar(p, 64);
                ASSERT_EQ(eol_mask64_sse2(p), eol) << c << " " << at;
                ASSERT_EQ(eol_mask64(p), eol) << c << " " << at;
                if (have_avx2()) {
                    ASSERT_EQ(eol_mask64_avx2(p), eol) << c << " " << at;
                }
            }
        }
    }
}

TEST(SipScan, SimdMatchesScalarOnRandomInputAtGuardPage) {
    std::mt19937 rng(12345);
    // A small alphabet so the interesting bytes appear at every position, including none.
    const char alphabet[] = "ab\r\n,\"<>\\ \x80\xff";
    guarded g(300);
    for (int iter = 0; iter < 5000; ++iter) {
        size_t n = rng() % 300;
        int density = static_cast<int>(rng() % 64) + 1;
        std::string s(n, 'x');
        for (auto& c : s) {
            if (static_cast<int>(rng() % 64) < density / 8)
                c = alphabet[rng() % (sizeof(alphabet) - 1)];
            else
                c = static_cast<char>('a' + rng() % 26);
        }
        const char* p = g.place(s);
        check_all(p, n);
        // Every suffix ends at the guard page too.
        if (n > 0) {
            size_t k = rng() % n;
            check_all(p + k, n - k);
        }
    }
}

TEST(SipScan, SimdMatchesScalarOnCorpusAtGuardPage) {
    size_t files = 0;
    for (const char* set : {"rfc4475", "rfc5118"}) {
        for (const auto& e :
             fs::directory_iterator(fs::path(TANDEM_SOURCE_DIR) / "tests" / "corpus" / set)) {
            auto ext = e.path().extension();
            if (ext != ".dat" && ext != ".sip") continue;
            std::ifstream in(e.path(), std::ios::binary);
            std::ostringstream ss;
            ss << in.rdbuf();
            std::string s = ss.str();
            guarded g(s.size());
            const char* p = g.place(s);
            for (size_t off = 0; off <= s.size(); ++off)
                check_all(p + off, s.size() - off);
            ++files;
        }
    }
    EXPECT_EQ(files, 61u);
}
