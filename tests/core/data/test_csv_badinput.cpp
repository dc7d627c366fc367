// CSV files against hostile input: values that underflow a double are read as
// the nearest double (0), values that overflow it are refused by name; CR-only
// line ends (classic Mac exports) read like LF and CRLF; a label column with
// more distinct values than classes can be is refused with a clear message.
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

#include "data/csv_reader.hpp"
#include "error.hpp"

using namespace moescope;

namespace {

// A table of `rows` rows: x, y and a label out of two classes, lines ended by `eol`.
std::string table(int rows, const std::string& eol, const std::string& first_x = "0.5") {
    std::string s = "x,y,label" + eol;
    for (int i = 0; i < rows; ++i)
        s += (i == 0 ? first_x : std::to_string(i)) + "," + std::to_string(i * 2) + "," + (i % 2 ? "a" : "b") + eol;
    return s;
}

}  // namespace

class TestCsvBadInput : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

    std::string write(const char* name, const std::string& text) {
        const std::string path = dir_.filePath(name).toStdString();
        std::ofstream(path, std::ios::binary) << text;
        return path;
    }

    QString error_of(const std::string& path) {
        try {
            read_csv_table(path, "last");
        } catch (const Error& e) {
            return QString::fromStdString(e.what());
        }
        return {};
    }

private slots:
    void lineEndings() {
        for (const char* eol : {"\n", "\r\n", "\r"}) {
            const CsvTable t = read_csv_table(write("eol.csv", table(12, eol)), "last");
            QCOMPARE(t.rows(), 12L);
            QCOMPARE(t.cols(), 2L);
            QCOMPARE(t.class_names.size(), size_t(2));
        }
    }

    void underflowIsZeroOverflowIsRefused() {
        const CsvTable t = read_csv_table(write("tiny.csv", table(12, "\n", "1e-400")), "last");
        QCOMPARE(t.features[0], 0.0);
        const CsvTable d = read_csv_table(write("denormal.csv", table(12, "\n", "-4e-320")), "last");
        QVERIFY(d.features[0] < 0 && d.features[0] > -1e-319);
        const QString msg = error_of(write("huge.csv", table(12, "\n", "1e309")));
        QVERIFY2(msg.contains("line 2") && msg.contains("column 'x'") && msg.contains("'1e309'") &&
                     msg.contains("beyond the range of a double"),
                 qPrintable(msg));
        QVERIFY(error_of(write("word.csv", table(12, "\n", "abc"))).contains("non-numeric value 'abc'"));
    }

    // A million distinct labels made a million-class head; the cap stops at the first label too many.
    void tooManyClassesAreRefused() {
        std::string s = "x,id\n";
        for (int i = 0; i < 5000; ++i) s += std::to_string(i) + ",id" + std::to_string(i) + "\n";
        const QString msg = error_of(write("ids.csv", s));
        QVERIFY2(
            msg.contains("line 1002") && msg.contains("more than 1000 distinct values") && msg.contains("label_column"),
            qPrintable(msg));
        std::string ok = "x,c\n";
        for (int i = 0; i < 3000; ++i) ok += std::to_string(i) + ",c" + std::to_string(i % 1000) + "\n";
        QCOMPARE(read_csv_table(write("many.csv", ok), "last").class_names.size(), size_t(kCsvMaxClasses));
    }

    void longFieldsAreClipped() {
        const QString msg = error_of(write("long.csv", table(12, "\n", std::string(100000, 'z'))));
        QVERIFY2(msg.size() < 400 && msg.contains("non-numeric"), qPrintable(msg.left(500)));
    }
};

QTEST_APPLESS_MAIN(TestCsvBadInput)
#include "test_csv_badinput.moc"
