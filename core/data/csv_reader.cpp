#include "data/csv_reader.hpp"

#include <locale.h>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string_view>
#include <unordered_map>

#include "error.hpp"
#include "file_read.hpp"

namespace moescope {
namespace {

// Prefix of every message about one line: "data.csv line 7: ".
std::string at_line(const std::string& path, long line) { return path + " line " + std::to_string(line) + ": "; }

std::string_view trim(std::string_view s) {
    const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

// Spreadsheets export ';' (decimal-comma locales) or tabs; a comma in the header wins.
char detect_delimiter(std::string_view header) {
    if (header.find(',') != std::string_view::npos) return ',';
    if (header.find(';') != std::string_view::npos) return ';';
    if (header.find('\t') != std::string_view::npos) return '\t';
    return ',';
}

// Reads a "quoted" field starting at line[pos] (the opening quote) into `out`,
// turning "" into ", and returns the position just after the closing quote.
size_t read_quoted(std::string_view line, size_t pos, std::string& out, const std::string& where) {
    for (size_t i = pos + 1; i < line.size(); ++i) {
        if (line[i] != '"') {
            out += line[i];
        } else if (i + 1 < line.size() && line[i + 1] == '"') {
            out += '"';
            ++i;
        } else {
            return i + 1;
        }
    }
    throw DataError(where + "quoted field is not closed (a field cannot span lines)");
}

// Splits one line into trimmed fields, reusing `fields` to avoid allocations per row.
void split_fields(std::string_view line, char delim, std::vector<std::string>& fields, const std::string& where) {
    fields.clear();
    size_t pos = 0;
    while (true) {
        std::string field;
        const size_t start = pos;
        while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t') && line[pos] != delim) ++pos;
        if (pos < line.size() && line[pos] == '"') {
            pos = read_quoted(line, pos, field, where);
            while (pos < line.size() && line[pos] != delim) {
                if (line[pos] != ' ' && line[pos] != '\t')
                    throw DataError(where + "unexpected character '" + std::string(1, line[pos]) +
                                    "' after a closing quote");
                ++pos;
            }
        } else {
            const size_t end = std::min(line.find(delim, start), line.size());
            field = trim(line.substr(start, end - start));
            pos = end;
        }
        fields.push_back(std::move(field));
        if (pos >= line.size()) return;
        ++pos;  // skip the delimiter
    }
}

enum class Number { Ok, NotANumber, TooLarge };

// Strict number parsing: the whole field must be a decimal number. A value too
// small for a double (1e-400) is the nearest double, 0; one too large (1e309) is refused.
Number parse_number(std::string_view s, double& value) {
    if (!s.empty() && s.front() == '+') s.remove_prefix(1);
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (s.empty() || end != s.data() + s.size() || (ec != std::errc() && ec != std::errc::result_out_of_range))
        return Number::NotANumber;
    if (ec == std::errc()) return Number::Ok;
    // Out of range: from_chars leaves `value` alone, strtod rounds (C locale, whatever the program's locale is).
    static const locale_t c_locale = ::newlocale(LC_ALL_MASK, "C", nullptr);
    value = ::strtod_l(std::string(s).c_str(), nullptr, c_locale);
    return std::isinf(value) ? Number::TooLarge : Number::Ok;
}

bool all_numeric(const std::vector<std::string>& fields) {
    double ignored = 0.0;
    return std::all_of(fields.begin(), fields.end(),
                       [&](const std::string& f) { return parse_number(f, ignored) != Number::NotANumber; });
}

std::string join_names(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) out += (out.empty() ? "'" : ", '") + n + "'";
    return out;
}

// Keywords win over header names so the default "last" always means the last column.
size_t resolve_label_column(const std::string& spec, const std::vector<std::string>& header, const std::string& path) {
    if (spec == "last") return header.size() - 1;
    if (spec == "first") return 0;
    const auto by_name = std::find(header.begin(), header.end(), spec);
    if (by_name != header.end()) return static_cast<size_t>(by_name - header.begin());
    const bool digits =
        !spec.empty() && std::all_of(spec.begin(), spec.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (digits && spec.size() < 10 && std::stoul(spec) < header.size()) return std::stoul(spec);
    throw ConfigError("label_column '" + spec + "' is not a column of " + path +
                      "; use last, first, a 0-based index below " + std::to_string(header.size()) + " or one of " +
                      join_names(header));
}

// Maps label strings to class ids in order of first appearance.
class LabelIndex {
public:
    int32_t id_of(const std::string& label, std::vector<std::string>& names) {
        const auto [it, inserted] = ids_.try_emplace(label, static_cast<int32_t>(names.size()));
        if (inserted) names.push_back(label);
        return it->second;
    }

private:
    std::unordered_map<std::string, int32_t> ids_;
};

// The file's lines, ended by LF, CRLF or a lone CR (classic Mac OS and some exporters).
class Lines {
public:
    explicit Lines(std::string text) : text_(std::move(text)) {}
    // Reads the next non-blank line into `line`; false at end of file.
    bool next_content(std::string& line, long& line_no) {
        while (pos_ < text_.size()) {
            const size_t end = std::min(text_.find_first_of("\r\n", pos_), text_.size());
            line.assign(text_, pos_, end - pos_);
            pos_ = end + (end + 1 < text_.size() && text_[end] == '\r' && text_[end + 1] == '\n' ? 2 : 1);
            ++line_no;
            if (!trim(line).empty()) return true;
        }
        return false;
    }

private:
    std::string text_;
    size_t pos_ = 0;
};

void check_header(const std::vector<std::string>& header, const std::string& where) {
    if (header.size() < 2)
        throw DataError(where + "the header has " + std::to_string(header.size()) +
                        " column; a CSV needs at least one feature column and a label column");
    if (all_numeric(header))
        throw DataError(where + "the first row holds only numbers; the file needs a header row naming the columns");
}

void check_table_size(const CsvTable& t, const std::string& path) {
    if (t.rows() < kCsvMinRows)
        throw DataError(path + " has " + std::to_string(t.rows()) + " data rows; at least " +
                        std::to_string(kCsvMinRows) + " are needed to split off a test set");
    if (static_cast<long>(t.class_names.size()) < kCsvMinClasses)
        throw DataError(path + ": label column '" + t.label_name + "' has only one distinct value ('" +
                        t.class_names.front() + "'); at least 2 classes are needed");
}

}  // namespace

CsvTable read_csv_table(const std::string& path, const std::string& label_column) {
    Lines lines(read_regular_file(path, kMaxCsvBytes, "CSV file"));

    std::string line;
    long line_no = 0;
    if (!lines.next_content(line, line_no)) throw DataError(path + " is empty; expected a header row and data rows");
    // Excel writes a UTF-8 byte-order mark before the header.
    if (line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);

    const char delim = detect_delimiter(line);
    std::vector<std::string> header;
    split_fields(line, delim, header, at_line(path, line_no));
    check_header(header, at_line(path, line_no));
    const size_t label_col = resolve_label_column(label_column, header, path);

    CsvTable t;
    t.label_name = header[label_col];
    for (size_t c = 0; c < header.size(); ++c)
        if (c != label_col) t.feature_names.push_back(header[c]);

    LabelIndex label_index;
    std::vector<std::string> fields;
    while (lines.next_content(line, line_no)) {
        const std::string where = at_line(path, line_no);
        split_fields(line, delim, fields, where);
        if (fields.size() != header.size())
            throw DataError(where + "expected " + std::to_string(header.size()) + " fields, found " +
                            std::to_string(fields.size()));
        for (size_t c = 0; c < fields.size(); ++c) {
            if (c == label_col) continue;
            double v = 0.0;
            const Number kind = parse_number(fields[c], v);
            if (kind == Number::NotANumber)
                throw DataError(where + "column '" + clip_text(header[c]) + "' has non-numeric value '" +
                                clip_text(fields[c]) + "'");
            if (kind == Number::TooLarge)
                throw DataError(where + "column '" + clip_text(header[c]) + "' has value '" + clip_text(fields[c]) +
                                "' beyond the range of a double (±1.8e308)");
            if (!std::isfinite(v))
                throw DataError(where + "column '" + clip_text(header[c]) + "' has non-finite value '" +
                                clip_text(fields[c]) + "'");
            t.features.push_back(v);
        }
        if (fields[label_col].empty()) throw DataError(where + "label column '" + t.label_name + "' is empty");
        t.labels.push_back(label_index.id_of(fields[label_col], t.class_names));
        if (static_cast<long>(t.class_names.size()) > kCsvMaxClasses)
            throw DataError(where + "label column '" + clip_text(t.label_name) + "' has more than " +
                            std::to_string(kCsvMaxClasses) +
                            " distinct values; is it a number to predict or an ID? Choose a class column with "
                            "label_column");
    }
    if (t.rows() == 0) throw DataError(path + " has a header but no data rows");
    check_table_size(t, path);
    return t;
}

}  // namespace moescope
