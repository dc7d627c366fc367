#pragma once
// Reading a labelled table from a CSV file: one header row, numeric feature
// columns and one label column of arbitrary strings. Only parsing and checking
// happen here; shuffling, splitting and standardising belong to the dataset.
#include <cstdint>
#include <string>
#include <vector>

namespace moescope {

struct CsvTable {
    std::string label_name;                  // header of the label column
    std::vector<std::string> feature_names;  // headers of the other columns, in file order
    std::vector<double> features;            // rows × feature_names.size(), row-major
    std::vector<int32_t> labels;             // class id per row, ids in order of first appearance
    std::vector<std::string> class_names;    // label string of each class id

    long rows() const { return static_cast<long>(labels.size()); }
    long cols() const { return static_cast<long>(feature_names.size()); }
};

// Fewest data rows and classes a CSV must have to make a train and a test set.
inline constexpr long kCsvMinRows = 10;
inline constexpr long kCsvMinClasses = 2;
// Most classes a label column may have (like the classes knob): a column with more
// distinct values is a number to regress or an ID, and its classifier head would not fit in memory.
inline constexpr long kCsvMaxClasses = 1000;

// Parses `path`: delimiter ',' (or ';' / tab when the header has no comma),
// "quoted" fields with "" escapes, blank lines skipped, LF, CRLF or CR line ends.
// `label_column` is "last", "first", a header name or a 0-based index.
// Throws DataError naming the file and line for malformed content and
// ConfigError (naming label_column and the available columns) for an unknown column.
CsvTable read_csv_table(const std::string& path, const std::string& label_column);

}  // namespace moescope
