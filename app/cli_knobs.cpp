#include "cli_knobs.hpp"

#include <algorithm>
#include <iostream>

#include "cli_common.hpp"
#include "train/knobs.hpp"

namespace moescope {

namespace {

const char* kind_name(KnobKind k) { return k == KnobKind::Live ? "live" : "structural"; }

// A table cell: '|' would end the cell early (choices are written a|b|c).
std::string cell(std::string_view text) {
    std::string s;
    for (char ch : text) s += ch == '|' ? std::string("\\|") : std::string(1, ch);
    return s;
}

void print_text() {
    std::string section;
    for (const auto& k : knob_table()) {
        if (k.section != section) {
            section = k.section;
            std::cout << "\n[" << section << "]\n";
        }
        std::string head = "  " + std::string(k.name);
        head.resize(std::max<size_t>(head.size() + 1, 22), ' ');
        std::string kind = kind_name(k.kind);
        kind.resize(12, ' ');
        std::cout << head << kind << "default " << k.default_text() << "  range " << k.range_text();
        if (!k.unit.empty()) std::cout << " " << k.unit;
        std::cout << "\n      " << k.help << "\n";
    }
}

void print_markdown() {
    std::cout << "| Knob | Section | Kind | Range | Default | Unit | Meaning |\n"
              << "|---|---|---|---|---|---|---|\n";
    for (const auto& k : knob_table()) {
        const std::string def = k.default_text();
        std::cout << "| `" << k.name << "` | " << k.section << " | " << kind_name(k.kind) << " | "
                  << cell(k.range_text()) << " | " << (def.empty() ? "(empty)" : cell(def)) << " | " << cell(k.unit)
                  << " | " << cell(k.help) << " |\n";
    }
}

}  // namespace

int cmd_knobs(const std::vector<std::string>& args) {
    bool markdown = false;
    for (const auto& a : args) {
        if (a != "--markdown")
            throw UsageError("unknown option '" + a + "' for knobs (see 'moescope-cli knobs --help')");
        markdown = true;
    }
    if (markdown)
        print_markdown();
    else
        print_text();
    return 0;
}

}  // namespace moescope
