// Datasets: determinism, shapes and labels of every kind, the statistics each
// generator promises (Zipf skew, standardisation, one-hot windows), and one
// clear, line-numbered error for every malformed CSV or text file.
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <set>

#include "data/dataset.hpp"
#include "error.hpp"
#include "train/config.hpp"

using namespace moescope;

namespace {

Config small_config(const std::string& kind) {
    Config cfg;
    cfg.dataset = kind;
    cfg.train_samples = 2000;
    cfg.test_samples = 300;
    return cfg;
}

double largest_class_share(const Dataset& ds) {
    std::vector<long> counts(static_cast<size_t>(ds.num_classes), 0);
    for (const int32_t y : ds.y_train) ++counts[static_cast<size_t>(y)];
    return static_cast<double>(*std::max_element(counts.begin(), counts.end())) / static_cast<double>(ds.train_size());
}

bool labels_in_range(const std::vector<int32_t>& y, int num_classes) {
    return std::all_of(y.begin(), y.end(), [&](int32_t v) { return v >= 0 && v < num_classes; });
}

// What a call threw: `right_type` is true only for an exception of type E.
struct Thrown {
    bool right_type = false;
    QString message;
};

template <class E, class F>
Thrown thrown_by(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return {true, QString::fromStdString(e.what())};
    } catch (const std::exception& e) {
        return {false, "wrong exception type: " + QString::fromStdString(e.what())};
    }
    return {false, "no exception"};
}

std::string write_file(const QTemporaryDir& dir, const QString& name, const QByteArray& content) {
    const QString path = dir.filePath(name);
    QFile f(path);
    if (!f.open(QIODevice::WriteOnly)) qFatal("cannot write %s", qPrintable(path));
    f.write(content);
    return path.toStdString();
}

// 20 rows: feature a counts rows, b is +5 for "dog" and −5 for "cat" (so b's sign encodes the label).
QByteArray animals_csv() {
    QByteArray csv = "a,b,label\n";
    for (int i = 0; i < 20; ++i) {
        const bool dog = i % 3 == 1;
        csv += QByteArray::number(i * 1.5) + "," + QByteArray::number(dog ? 5 + i * 0.01 : -5 - i * 0.01) + "," +
               (dog ? "dog" : "cat") + "\n";
    }
    return csv;
}

// Text whose next character is a function of the previous one: ...abcdeabcde...
QByteArray cyclic_text(int length) {
    QByteArray text;
    for (int i = 0; i < length; ++i) text += static_cast<char>('a' + i % 5);
    return text;
}

}  // namespace

class TestDatasets : public QObject {
    Q_OBJECT

private slots:
    void clustersAreDeterministicPerSeed();
    void clustersHaveRequestedShapeAndEveryClass();
    void clustersZipfSkewsClassShares();
    void clustersWithFewerClustersThanClasses();
    void toysAreTwoDimensional_data();
    void toysAreTwoDimensional();
    void moonsInterleave();
    void blobsSitOnACircle();
    void unknownKindListsValidKinds();
    void impossibleParametersNameTheKey();
    void csvHappyPathStandardisesWithTrainStatistics();
    void csvDialects_data();
    void csvDialects();
    void csvErrors_data();
    void csvErrors();
    void csvMissingFileIsDataError();
    void csvUnknownLabelColumnListsColumns();
    void sampleCsvResourceLoads();
    void textOneHotWindowsPredictNextCharacter();
    void textKeepsMostFrequentCharactersAndOtherBucket();
    void textCapsSampleCount();
    void textInvalidUtf8NamesLine_data();
    void textInvalidUtf8NamesLine();
    void textTooShortIsDataError();
    void sampleTextResourceLoads();
    void sampleBatchStaysInRangeWithoutReallocating();
};

void TestDatasets::clustersAreDeterministicPerSeed() {
    Config cfg = small_config("clusters");
    const Dataset a = make_dataset(cfg);
    const Dataset b = make_dataset(cfg);
    QVERIFY(a.x_train == b.x_train);
    QVERIFY(a.y_train == b.y_train);
    QVERIFY(a.x_test == b.x_test);
    QVERIFY(a.y_test == b.y_test);
    cfg.seed = 2;
    const Dataset c = make_dataset(cfg);
    QVERIFY(a.x_train != c.x_train);
    QVERIFY(a.y_train != c.y_train);
}

void TestDatasets::clustersHaveRequestedShapeAndEveryClass() {
    Config cfg = small_config("clusters");
    cfg.d_in = 7;
    cfg.classes = 5;
    cfg.clusters = 12;
    const Dataset ds = make_dataset(cfg);
    QCOMPARE(ds.kind, std::string("clusters"));
    QCOMPARE(ds.d_in, 7);
    QCOMPARE(ds.num_classes, 5);
    QCOMPARE(ds.class_names.size(), size_t(5));
    QCOMPARE(ds.x_train.rows(), 7);
    QCOMPARE(ds.x_train.cols(), 2000);
    QCOMPARE(ds.x_test.cols(), 300);
    QCOMPARE(ds.train_size(), 2000L);
    QCOMPARE(ds.test_size(), 300L);
    QVERIFY(labels_in_range(ds.y_train, 5));
    QVERIFY(labels_in_range(ds.y_test, 5));
    QCOMPARE(std::set<int32_t>(ds.y_train.begin(), ds.y_train.end()).size(), size_t(5));
    QVERIFY(ds.x_train.allFinite());
    QVERIFY2(ds.summary.starts_with("clusters: 2000 train / 300 test, d_in 7, 5 classes"), ds.summary.c_str());
}

void TestDatasets::clustersZipfSkewsClassShares() {
    Config cfg = small_config("clusters");
    cfg.classes = 10;
    cfg.clusters = 40;
    cfg.zipf = 0.0;
    const double flat = largest_class_share(make_dataset(cfg));
    cfg.zipf = 2.0;
    const double skewed = largest_class_share(make_dataset(cfg));
    // Zipf 2 over 40 clusters puts 1/Σ(1/k²) ≈ 62% of all points in the first cluster alone.
    QVERIFY2(skewed > 0.55, qPrintable(QString::number(skewed)));
    QVERIFY2(flat < 0.3, qPrintable(QString::number(flat)));
    QVERIFY(skewed > 2.0 * flat);
}

void TestDatasets::clustersWithFewerClustersThanClasses() {
    Config cfg = small_config("clusters");
    cfg.classes = 10;
    cfg.clusters = 3;
    const Dataset ds = make_dataset(cfg);
    QCOMPARE(ds.num_classes, 3);
    QCOMPARE(std::set<int32_t>(ds.y_train.begin(), ds.y_train.end()).size(), size_t(3));
}

void TestDatasets::toysAreTwoDimensional_data() {
    QTest::addColumn<QString>("kind");
    QTest::addColumn<int>("classes");
    QTest::addColumn<int>("expected_classes");
    QTest::newRow("blobs") << "blobs" << 4 << 4;
    QTest::newRow("moons ignores classes") << "moons" << 10 << 2;
    QTest::newRow("spirals") << "spirals" << 3 << 3;
}

void TestDatasets::toysAreTwoDimensional() {
    QFETCH(QString, kind);
    QFETCH(int, classes);
    QFETCH(int, expected_classes);
    Config cfg = small_config(kind.toStdString());
    cfg.d_in = 16;
    cfg.classes = classes;
    const Dataset ds = make_dataset(cfg);
    QCOMPARE(ds.d_in, 2);
    QCOMPARE(ds.x_train.rows(), 2);
    QCOMPARE(ds.x_test.rows(), 2);
    QCOMPARE(ds.num_classes, expected_classes);
    QCOMPARE(std::set<int32_t>(ds.y_train.begin(), ds.y_train.end()).size(), size_t(expected_classes));
    QVERIFY(labels_in_range(ds.y_test, expected_classes));
    // Raw coordinates, not standardised, stay within a small box around the origin.
    QVERIFY2(ds.x_train.cwiseAbs().maxCoeff() < 3.0f, qPrintable(QString::number(ds.x_train.cwiseAbs().maxCoeff())));
    QVERIFY(make_dataset(cfg).x_train == ds.x_train);
}

void TestDatasets::moonsInterleave() {
    const Dataset ds = make_dataset(small_config("moons"));
    double mean_y[2] = {0, 0};
    long count[2] = {0, 0};
    for (long i = 0; i < ds.train_size(); ++i) {
        mean_y[ds.y_train[size_t(i)]] += ds.x_train(1, i);
        ++count[ds.y_train[size_t(i)]];
    }
    // Upper moon's mean height is 2/π − ¼ ≈ 0.39, the lower one's ≈ −0.39.
    QVERIFY(std::abs(mean_y[0] / count[0] - 0.39) < 0.05);
    QVERIFY(std::abs(mean_y[1] / count[1] + 0.39) < 0.05);
}

void TestDatasets::blobsSitOnACircle() {
    Config cfg = small_config("blobs");
    cfg.classes = 4;
    const Dataset ds = make_dataset(cfg);
    Eigen::MatrixXd sum = Eigen::MatrixXd::Zero(2, 4);
    Eigen::VectorXd count = Eigen::VectorXd::Zero(4);
    for (long i = 0; i < ds.train_size(); ++i) {
        sum.col(ds.y_train[size_t(i)]) += ds.x_train.col(i).cast<double>();
        count(ds.y_train[size_t(i)]) += 1;
    }
    for (int c = 0; c < 4; ++c) {
        const Eigen::Vector2d mean = sum.col(c) / count(c);
        const Eigen::Vector2d expected(1.5 * std::cos(std::numbers::pi / 2 * c),
                                       1.5 * std::sin(std::numbers::pi / 2 * c));
        QVERIFY2((mean - expected).norm() < 0.1, qPrintable(QString("class %1").arg(c)));
    }
}

void TestDatasets::unknownKindListsValidKinds() {
    const Thrown t = thrown_by<ConfigError>([] { make_dataset(small_config("mnist")); });
    QVERIFY2(t.right_type, qPrintable(t.message));
    QVERIFY(t.message.contains("'mnist'"));
    for (const char* kind : {"clusters", "blobs", "moons", "spirals", "csv", "text"})
        QVERIFY2(t.message.contains(kind), qPrintable(t.message));
}

void TestDatasets::impossibleParametersNameTheKey() {
    Config cfg = small_config("clusters");
    cfg.classes = 1;
    Thrown t = thrown_by<ConfigError>([&] { make_dataset(cfg); });
    QVERIFY2(t.right_type && t.message.contains("classes"), qPrintable(t.message));

    cfg = small_config("spirals");
    cfg.train_samples = 0;
    t = thrown_by<ConfigError>([&] { make_dataset(cfg); });
    QVERIFY2(t.right_type && t.message.contains("train_samples"), qPrintable(t.message));

    cfg = small_config("csv");
    t = thrown_by<ConfigError>([&] { make_dataset(cfg); });
    QVERIFY2(t.right_type && t.message.contains("csv_path"), qPrintable(t.message));
}

void TestDatasets::csvHappyPathStandardisesWithTrainStatistics() {
    QTemporaryDir dir;
    Config cfg = small_config("csv");
    cfg.csv_path = write_file(dir, "animals.csv", animals_csv());
    const Dataset ds = make_dataset(cfg);
    QCOMPARE(ds.d_in, 2);
    QCOMPARE(ds.num_classes, 2);
    QCOMPARE(ds.class_names, (std::vector<std::string>{"cat", "dog"}));
    QCOMPARE(ds.test_size(), 4L);
    QCOMPARE(ds.train_size(), 16L);
    for (int f = 0; f < 2; ++f) {
        const Eigen::ArrayXd row = ds.x_train.row(f).cast<double>().transpose().array();
        const double mean = row.mean();
        const double sd = std::sqrt((row - mean).square().mean());
        QVERIFY2(std::abs(mean) < 1e-5, qPrintable(QString::number(mean)));
        QVERIFY2(std::abs(sd - 1.0) < 1e-5, qPrintable(QString::number(sd)));
    }
    // Shuffling must keep each row's label with its features: b > 0 exactly for dogs.
    for (long i = 0; i < ds.train_size(); ++i) QCOMPARE(ds.y_train[size_t(i)], ds.x_train(1, i) > 0 ? 1 : 0);
    for (long i = 0; i < ds.test_size(); ++i) QCOMPARE(ds.y_test[size_t(i)], ds.x_test(1, i) > 0 ? 1 : 0);

    // Train and test partition the rows: feature a is distinct in every row.
    std::set<float> a_values;
    for (long i = 0; i < ds.train_size(); ++i) a_values.insert(ds.x_train(0, i));
    for (long i = 0; i < ds.test_size(); ++i) a_values.insert(ds.x_test(0, i));
    QCOMPARE(a_values.size(), size_t(20));

    cfg.seed = 7;
    const Dataset reshuffled = make_dataset(cfg);
    QVERIFY(reshuffled.x_train != ds.x_train);
    QVERIFY(make_dataset(cfg).x_train == reshuffled.x_train);
}

void TestDatasets::csvDialects_data() {
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("label_column");
    QTest::addColumn<QString>("first_class");
    auto table = [](const char* header, const char* sep, const char* eol, bool label_first) {
        QByteArray out = QByteArray(header) + eol;
        for (int i = 0; i < 12; ++i) {
            const QByteArray label = i % 2 ? "\"odd, \"\"quoted\"\"\"" : "even";
            const QByteArray nums = QByteArray::number(i) + sep + QByteArray::number(i * i);
            out += (label_first ? label + sep + nums : nums + sep + label) + eol;
            if (i == 5) out += QByteArray("   ") + eol;  // a blank line in the middle
        }
        return out;
    };
    QTest::newRow("comma, label last") << table("u,v,kind", ",", "\n", false) << "last"
                                       << "even";
    QTest::newRow("semicolon, CRLF") << table("u;v;kind", ";", "\r\n", false) << "kind"
                                     << "even";
    QTest::newRow("tab, label first") << table("kind\tu\tv", "\t", "\n", true) << "first"
                                      << "even";
    QTest::newRow("label by index") << table("kind,u,v", ",", "\n", true) << "0"
                                    << "even";
    QTest::newRow("quoted header") << table("\"u\",\"v\",\"kind\"", ",", "\n", false) << "kind"
                                   << "even";
}

void TestDatasets::csvDialects() {
    QFETCH(QByteArray, content);
    QFETCH(QString, label_column);
    QFETCH(QString, first_class);
    QTemporaryDir dir;
    Config cfg = small_config("csv");
    cfg.csv_path = write_file(dir, "t.csv", content);
    cfg.label_column = label_column.toStdString();
    const Dataset ds = make_dataset(cfg);
    QCOMPARE(ds.d_in, 2);
    QCOMPARE(ds.train_size() + ds.test_size(), 12L);
    QCOMPARE(ds.class_names, (std::vector<std::string>{first_class.toStdString(), "odd, \"quoted\""}));
}

void TestDatasets::csvErrors_data() {
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QStringList>("expected");
    QByteArray good;
    for (int i = 0; i < 12; ++i) good += QByteArray::number(i) + ",1," + (i % 2 ? "a" : "b") + "\n";
    QTest::newRow("empty") << QByteArray("\n  \n") << QStringList{"is empty"};
    QTest::newRow("no header") << QByteArray("1,2,3\n" + good) << QStringList{"line 1", "header"};
    QTest::newRow("one column") << QByteArray("x\n1\n") << QStringList{"line 1", "at least one feature"};
    QTest::newRow("header only") << QByteArray("x,y,label\n\n") << QStringList{"no data rows"};
    QTest::newRow("wrong field count") << QByteArray("x,y,label\n" + good.left(12) + "\n4,5\n" + good)
                                       << QStringList{"line 5", "expected 3 fields, found 2"};
    QTest::newRow("non-numeric") << QByteArray("x,petal_len,label\n1,2,a\n3,abc,b\n" + good)
                                 << QStringList{"line 3", "'petal_len'", "non-numeric value 'abc'"};
    QTest::newRow("empty value") << QByteArray("x,y,label\n1,,a\n" + good) << QStringList{"line 2", "'y'"};
    QTest::newRow("non-finite") << QByteArray("x,y,label\n" + good + "nan,1,a\n")
                                << QStringList{"line 14", "non-finite"};
    QTest::newRow("unclosed quote") << QByteArray("x,y,label\n1,2,\"a\n" + good) << QStringList{"line 2", "quoted"};
    QTest::newRow("junk after quote") << QByteArray("x,y,label\n1,2,\"a\"b\n" + good) << QStringList{"line 2", "'b'"};
    QTest::newRow("empty label") << QByteArray("x,y,label\n" + good + "1,2,\n") << QStringList{"line 14", "label"};
    QTest::newRow("one class") << QByteArray("x,y,label\n" + QByteArray("1,2,same\n").repeated(12))
                               << QStringList{"only one distinct value", "'same'"};
    QTest::newRow("too few rows") << QByteArray("x,y,label\n1,2,a\n3,4,b\n5,6,a\n")
                                  << QStringList{"3 data rows", "at least 10"};
}

void TestDatasets::csvErrors() {
    QFETCH(QByteArray, content);
    QFETCH(QStringList, expected);
    QTemporaryDir dir;
    Config cfg = small_config("csv");
    cfg.csv_path = write_file(dir, "bad.csv", content);
    const Thrown t = thrown_by<DataError>([&] { make_dataset(cfg); });
    QVERIFY2(t.right_type, qPrintable(t.message));
    QVERIFY2(t.message.contains("bad.csv"), qPrintable(t.message));
    for (const QString& part : expected) QVERIFY2(t.message.contains(part), qPrintable(t.message));
}

void TestDatasets::csvMissingFileIsDataError() {
    Config cfg = small_config("csv");
    cfg.csv_path = "/nonexistent/dir/missing.csv";
    const Thrown t = thrown_by<DataError>([&] { make_dataset(cfg); });
    QVERIFY2(t.right_type && t.message.contains("cannot open") && t.message.contains("missing.csv"),
             qPrintable(t.message));
}

void TestDatasets::csvUnknownLabelColumnListsColumns() {
    QTemporaryDir dir;
    Config cfg = small_config("csv");
    cfg.csv_path = write_file(dir, "animals.csv", animals_csv());
    for (const char* column : {"species", "3"}) {
        cfg.label_column = column;
        const Thrown t = thrown_by<ConfigError>([&] { make_dataset(cfg); });
        QVERIFY2(t.right_type, qPrintable(t.message));
        for (const char* part : {"label_column", "animals.csv", "'a'", "'b'", "'label'"})
            QVERIFY2(t.message.contains(part), qPrintable(t.message));
    }
}

void TestDatasets::sampleCsvResourceLoads() {
    Config cfg = small_config("csv");
    cfg.csv_path = MOESCOPE_SOURCE_DIR "/resources/data/iris_synthetic.csv";
    const Dataset ds = make_dataset(cfg);
    QCOMPARE(ds.d_in, 4);
    QCOMPARE(ds.num_classes, 3);
    QCOMPARE(ds.train_size(), 120L);
    QCOMPARE(ds.test_size(), 30L);
    QVERIFY(labels_in_range(ds.y_test, 3));
}

void TestDatasets::textOneHotWindowsPredictNextCharacter() {
    QTemporaryDir dir;
    Config cfg = small_config("text");
    cfg.context = 3;
    cfg.text_path = write_file(dir, "abc.txt", cyclic_text(200));
    const Dataset ds = make_dataset(cfg);
    const int vocab = 5;
    QCOMPARE(ds.num_classes, vocab);
    QCOMPARE(ds.d_in, 3 * vocab);
    QCOMPARE(ds.train_size() + ds.test_size(), 200L);
    QCOMPARE(ds.test_size(), 40L);

    long all_zero = 0;
    const auto check = [&](const Eigen::MatrixXf& x, const std::vector<int32_t>& y) {
        for (Eigen::Index i = 0; i < x.cols(); ++i) {
            int ones_seen = 0;
            for (int block = 0; block < 3; ++block) {
                const auto part = x.col(i).segment(block * vocab, vocab);
                QVERIFY((part.array() == 0.0f || part.array() == 1.0f).all());
                QVERIFY(part.sum() <= 1.0f);
                // Missing history only ever precedes real characters (it is the text's start).
                if (part.sum() == 1.0f)
                    ++ones_seen;
                else
                    QCOMPARE(ones_seen, 0);
            }
            if (ones_seen == 0) {
                ++all_zero;
                continue;
            }
            Eigen::Index prev = 0;
            x.col(i).segment(2 * vocab, vocab).maxCoeff(&prev);
            const std::string& prev_char = ds.class_names[size_t(prev)];
            const std::string& next_char = ds.class_names[size_t(y[size_t(i)])];
            QCOMPARE(next_char[0], char('a' + (prev_char[0] - 'a' + 1) % 5));
        }
    };
    check(ds.x_train, ds.y_train);
    if (QTest::currentTestFailed()) return;
    check(ds.x_test, ds.y_test);
    if (QTest::currentTestFailed()) return;
    QCOMPARE(all_zero, 1L);
}

void TestDatasets::textKeepsMostFrequentCharactersAndOtherBucket() {
    QTemporaryDir dir;
    // "é" is most frequent; 120 further distinct code points appear once each, so 25 of them fall into "other".
    QByteArray text = QString("é").repeated(300).toUtf8();
    for (int i = 0; i < 120; ++i) text += QString(QChar(0x0400 + i)).toUtf8();
    Config cfg = small_config("text");
    cfg.context = 2;
    cfg.text_path = write_file(dir, "cyrillic.txt", text);
    const Dataset ds = make_dataset(cfg);
    QCOMPARE(ds.num_classes, 96);
    QCOMPARE(ds.d_in, 2 * 96);
    QCOMPARE(ds.class_names.front(), std::string("é"));
    QCOMPARE(ds.class_names[1], QString(QChar(0x0400)).toStdString());
    QCOMPARE(ds.class_names.back(), std::string("<other>"));
    const long others =
        std::count(ds.y_train.begin(), ds.y_train.end(), 95) + std::count(ds.y_test.begin(), ds.y_test.end(), 95);
    QCOMPARE(others, 120L - 94L);
}

void TestDatasets::textCapsSampleCount() {
    QTemporaryDir dir;
    Config cfg = small_config("text");
    cfg.train_samples = 400;
    cfg.test_samples = 100;
    cfg.text_path = write_file(dir, "long.txt", cyclic_text(5000));
    const Dataset ds = make_dataset(cfg);
    QCOMPARE(ds.train_size(), 400L);
    QCOMPARE(ds.test_size(), 100L);
    const Dataset again = make_dataset(cfg);
    QVERIFY(again.x_train == ds.x_train && again.y_test == ds.y_test);
}

void TestDatasets::textInvalidUtf8NamesLine_data() {
    QTest::addColumn<QByteArray>("content");
    QTest::addColumn<QString>("expected");
    const QByteArray head = "line one\nline two\nbad ";
    QTest::newRow("stray byte") << QByteArray(head + "\xff here\n") << "line 3";
    QTest::newRow("overlong slash") << QByteArray(head + "\xc0\xaf\n") << "line 3";
    QTest::newRow("surrogate") << QByteArray(head + "\xed\xa0\x80\n") << "line 3";
    QTest::newRow("lone continuation") << QByteArray("\x80 start") << "line 1";
    QTest::newRow("truncated at end") << QByteArray(head + "ok\nend \xe2\x82") << "line 4";
}

void TestDatasets::textInvalidUtf8NamesLine() {
    QFETCH(QByteArray, content);
    QFETCH(QString, expected);
    QTemporaryDir dir;
    Config cfg = small_config("text");
    cfg.text_path = write_file(dir, "broken.txt", content);
    const Thrown t = thrown_by<DataError>([&] { make_dataset(cfg); });
    QVERIFY2(t.right_type, qPrintable(t.message));
    QVERIFY2(t.message.contains("broken.txt " + expected + ":") && t.message.contains("UTF-8"), qPrintable(t.message));
}

void TestDatasets::textTooShortIsDataError() {
    QTemporaryDir dir;
    Config cfg = small_config("text");
    cfg.context = 8;
    cfg.text_path = write_file(dir, "short.txt", "tiny text");
    Thrown t = thrown_by<DataError>([&] { make_dataset(cfg); });
    QVERIFY2(t.right_type && t.message.contains("short.txt") && t.message.contains("context 8"), qPrintable(t.message));

    cfg.text_path = dir.filePath("absent.txt").toStdString();
    t = thrown_by<DataError>([&] { make_dataset(cfg); });
    QVERIFY2(t.right_type && t.message.contains("cannot open"), qPrintable(t.message));
}

void TestDatasets::sampleTextResourceLoads() {
    Config cfg;
    cfg.dataset = "text";
    cfg.text_path = MOESCOPE_SOURCE_DIR "/resources/data/lighthouse.txt";
    const Dataset ds = make_dataset(cfg);
    QVERIFY(ds.num_classes > 30 && ds.num_classes <= 96);
    QCOMPARE(ds.d_in, cfg.context * ds.num_classes);
    // The ~3,900-character file is below the default sample cap, so every position is a sample.
    const long total = ds.train_size() + ds.test_size();
    QVERIFY2(total > 3800, qPrintable(QString::number(total)));
    QCOMPARE(ds.test_size(), std::lround(0.2 * static_cast<double>(total)));
    QVERIFY(ds.summary.starts_with("text "));
}

void TestDatasets::sampleBatchStaysInRangeWithoutReallocating() {
    Config cfg = small_config("clusters");
    cfg.train_samples = 50;
    const Dataset ds = make_dataset(cfg);
    Rng rng(3);
    std::vector<int32_t> indices;
    sample_batch(ds, 4000, rng, indices);
    QCOMPARE(indices.size(), size_t(4000));
    QVERIFY(std::all_of(indices.begin(), indices.end(), [](int32_t i) { return i >= 0 && i < 50; }));
    // With 4000 draws from 50 rows every row is hit (a miss has probability < 50·0.98^4000).
    QCOMPARE(std::set<int32_t>(indices.begin(), indices.end()).size(), size_t(50));

    const int32_t* storage = indices.data();
    const std::vector<int32_t> first = indices;
    sample_batch(ds, 4000, rng, indices);
    QCOMPARE(indices.data(), storage);
    QVERIFY(indices != first);

    Rng same(3);
    std::vector<int32_t> replay;
    sample_batch(ds, 4000, same, replay);
    QCOMPARE(replay, first);
}

QTEST_APPLESS_MAIN(TestDatasets)
#include "test_datasets.moc"
