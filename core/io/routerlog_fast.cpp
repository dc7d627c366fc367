// The hot path of router log reading: the two record kinds parsed without
// building a JSON document (nlohmann's DOM, its number lexer and strtod were
// about 80 % of `watch --once`). It accepts a line only when it is sure the
// general reader would give the same record; anything else — a header, an
// escape, a non-ASCII byte, a nested object, a repeated key, any value the
// record rules refuse — goes to the general reader, which also words the
// errors. tests/core/io/test_routerlog.cpp compares the two on mutated lines.
#include <charconv>
#include <cmath>
#include <cstring>

#include "io/routerlog.hpp"

namespace moescope::detail {

namespace {

struct Cursor {
    const char* p;
    const char* end;
    void ws() {
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) ++p;
    }
    bool eat(char c) {
        ws();
        if (p < end && *p == c) {
            ++p;
            return true;
        }
        return false;
    }
};

// A JSON string of printable ASCII without escapes; anything else: give up.
bool string_token(Cursor& c, std::string_view& out) {
    c.ws();
    if (c.p >= c.end || *c.p != '"') return false;
    const char* s = ++c.p;
    while (c.p < c.end && *c.p != '"') {
        const unsigned char b = static_cast<unsigned char>(*c.p);
        if (b < 0x20 || b >= 0x80 || b == '\\') return false;
        ++c.p;
    }
    if (c.p >= c.end) return false;
    out = std::string_view(s, size_t(c.p - s));
    ++c.p;
    return true;
}

// A JSON number, strictly by the grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
bool number_token(Cursor& c, double& v) {
    c.ws();
    const char* s = c.p;
    const char* q = s;
    if (q < c.end && *q == '-') ++q;
    if (q >= c.end) return false;
    if (*q == '0')
        ++q;
    else if (*q >= '1' && *q <= '9')
        while (q < c.end && *q >= '0' && *q <= '9') ++q;
    else
        return false;
    if ((q >= c.end || (*q != '.' && *q != 'e' && *q != 'E')) && q - s - (*s == '-' ? 1 : 0) <= 15) {
        // a whole number of at most 15 digits is exact in a double: no conversion routine needed
        const bool neg = *s == '-';
        long n = 0;
        for (const char* d = s + (neg ? 1 : 0); d < q; ++d) n = n * 10 + (*d - '0');
        v = neg ? -double(n) : double(n);
        c.p = q;
        return true;
    }
    if (q < c.end && *q == '.') {
        ++q;
        if (q >= c.end || *q < '0' || *q > '9') return false;
        while (q < c.end && *q >= '0' && *q <= '9') ++q;
    }
    if (q < c.end && (*q == 'e' || *q == 'E')) {
        ++q;
        if (q < c.end && (*q == '+' || *q == '-')) ++q;
        if (q >= c.end || *q < '0' || *q > '9') return false;
        while (q < c.end && *q >= '0' && *q <= '9') ++q;
    }
    const auto r = std::from_chars(s, q, v);
    if (r.ec != std::errc() || r.ptr != q) return false;  // out of range: let the general reader say so
    c.p = q;
    return true;
}

bool literal(Cursor& c, const char* word) {
    c.ws();
    const size_t n = std::strlen(word);
    if (size_t(c.end - c.p) < n || std::memcmp(c.p, word, n) != 0) return false;
    c.p += n;
    return true;
}

// [n, n, ...] of numbers from 0 to kRouterLogMaxCount; `nulls`: null allowed (NaN).
bool counts(Cursor& c, std::vector<double>& out, bool* nulls) {
    if (!c.eat('[')) return false;
    out.clear();
    if (c.eat(']')) return false;  // empty: refused
    do {
        if (out.size() >= size_t(kRouterLogMaxExperts)) return false;
        double v = 0;
        if (nulls && literal(c, "null")) {
            *nulls = true;
            out.push_back(kNaN);
            continue;
        }
        if (!number_token(c, v) || !(v >= 0) || !(v <= kRouterLogMaxCount)) return false;
        out.push_back(v);
    } while (c.eat(','));
    return c.eat(']');
}

// Skips a value the record does not use: a number, a string, a literal, or an array of those (nested).
bool skip_value(Cursor& c, int depth = 0) {
    c.ws();
    if (c.p >= c.end || depth > 8) return false;
    double v = 0;
    std::string_view s;
    switch (*c.p) {
        case '"':
            return string_token(c, s);
        case 't':
            return literal(c, "true");
        case 'f':
            return literal(c, "false");
        case 'n':
            return literal(c, "null");
        case '[':
            ++c.p;
            if (c.eat(']')) return true;
            do
                if (!skip_value(c, depth + 1)) return false;
            while (c.eat(','));
            return c.eat(']');
        default:
            return number_token(c, v);
    }
}

bool whole(double v, double lo, double hi) { return std::floor(v) == v && v >= lo && v <= hi; }

// An optional number-or-null field; null marks a non-finite value when `nf` is given.
bool real_or_null(Cursor& c, double& out, bool* nf) {
    if (literal(c, "null")) {
        out = kNaN;
        if (nf) *nf = true;
        return true;
    }
    return number_token(c, out);
}

}  // namespace

bool parse_router_record_fast(std::string_view line, RouterLine& out) {
    Cursor c{line.data(), line.data() + line.size()};
    if (!c.eat('{')) return false;
    RouterRecord r;
    uint32_t seen = 0;
    enum : uint32_t {
        kStep = 1,
        kIter = 2,
        kLayer = 4,
        kCounts = 8,
        kTpe = 16,
        kProb = 32,
        kRank = 64,
        kBlock = 128,
        kMtp = 256,
        kEntropy = 1024,
        kZ = 2048,
        kAux = 4096,
        kMaxLogit = 8192,
        kDropped = 16384,
        kTokens = 32768,
        kTime = 65536
    };
    double step = 0, layer = 0, rank = 0, mtp_idx = 0;
    bool mtp = false, ignored = false;
    std::vector<double> mb;
    auto once = [&](uint32_t bit) {
        if (seen & bit) return false;  // a repeated key: the general reader decides which wins
        seen |= bit;
        return true;
    };
    if (c.eat('}')) return false;
    do {
        std::string_view key;
        if (!string_token(c, key) || !c.eat(':')) return false;
        if (key == "step" || key == "iter") {
            if (!once(key == "step" ? kStep : kIter) || !number_token(c, step)) return false;
        } else if (key == "layer") {
            if (!once(kLayer) || !number_token(c, layer)) return false;
        } else if (key == "counts") {
            if (!once(kCounts) || !counts(c, r.counts, nullptr)) return false;
        } else if (key == "tpe") {
            if (!once(kTpe) || !c.eat('[')) return false;
            if (c.eat(']')) return false;
            do {
                if (!counts(c, mb, nullptr)) return false;
                if (r.counts.empty()) r.counts.assign(mb.size(), 0.0);
                if (mb.size() != r.counts.size()) return false;
                for (size_t e = 0; e < mb.size(); ++e) r.counts[e] += mb[e];
            } while (c.eat(','));
            if (!c.eat(']')) return false;
        } else if (key == "mean_prob") {
            if (!once(kProb)) return false;
            if (literal(c, "null")) continue;
            if (!counts(c, r.mean_prob, &r.non_finite)) return false;
        } else if (key == "router_entropy" || key == "z_loss" || key == "aux_loss" || key == "max_abs_logit") {
            const bool e = key == "router_entropy", z = key == "z_loss", a = key == "aux_loss";
            double& dst = e ? r.router_entropy : z ? r.z_loss : a ? r.aux_loss : r.max_abs_logit;
            if (!once(e ? kEntropy : z ? kZ : a ? kAux : kMaxLogit) || !real_or_null(c, dst, &r.non_finite))
                return false;
        } else if (key == "dropped" || key == "tokens" || key == "time") {
            const bool d = key == "dropped", t = key == "tokens";
            double& dst = d ? r.dropped : t ? r.tokens : r.time;
            if (!once(d ? kDropped : t ? kTokens : kTime) || !real_or_null(c, dst, &ignored)) return false;
        } else if (key == "rank") {
            if (!once(kRank) || !number_token(c, rank)) return false;
        } else if (key == "block") {
            std::string_view b;
            if (!once(kBlock) || !string_token(c, b)) return false;
            mtp = b == "mtp";
        } else if (key == "mtp_idx") {
            if (!once(kMtp) || !number_token(c, mtp_idx)) return false;
        } else if (key == "format") {
            return false;  // a header: the general reader
        } else {
            if (!skip_value(c)) return false;
        }
    } while (c.eat(','));
    if (!c.eat('}')) return false;
    c.ws();
    if (c.p != c.end) return false;
    if (((seen & kStep) && (seen & kIter)) || ((seen & kTpe) && (seen & kCounts))) return false;

    if (seen & kTpe) {  // Megatron, as the general reader takes it
        r.kind = RouterLogKind::Megatron;
        if (!(seen & kIter) || !(seen & kLayer) || !whole(step, 0, double(1L << 53)) || !whole(layer, 0, 999))
            return false;
        r.step = long(step);
        r.layer = int(layer);
        if (mtp) {
            if (!(seen & kMtp) || !whole(mtp_idx, 0, 99)) return false;
            r.layer += 1000 * (int(mtp_idx) + 1);
        }
        r.mean_prob.clear();
        r.router_entropy = r.z_loss = r.aux_loss = r.max_abs_logit = r.dropped = r.tokens = r.time = kNaN;
        r.non_finite = false;
        r.rank = -1;
    } else if (seen & kCounts) {
        if (!(seen & kStep) || !(seen & kLayer) || !whole(step, 0, double(1L << 53)) ||
            !whole(layer, 0, double(1 << 20)))
            return false;
        r.step = long(step);
        r.layer = int(layer);
        if (!r.mean_prob.empty() && r.mean_prob.size() != r.counts.size()) return false;
        if (!(r.tokens >= 0 && r.tokens <= kRouterLogMaxCount) && !std::isnan(r.tokens)) return false;
        if (seen & kRank) {
            if (!whole(rank, 0, double(1 << 24))) return false;
            r.rank = int(rank);
        }
    } else {
        return false;
    }
    out.record = std::move(r);
    return true;
}

}  // namespace moescope::detail
