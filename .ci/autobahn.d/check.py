"""Compares an Autobahn|Testsuite report (index.json) with the results expected of Switchboard (expected.txt): every
case run, each with one of its expected results, OK where none is listed. Python 3, standard library only.

    python3 check.py REPORT_INDEX_JSON EXPECTED_TXT
"""
import json
import sys


def expected(path):
    count, results = None, {}
    with open(path) as lines:
        for line in lines:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            case, allowed = line.split()
            if case == "cases":
                count = int(allowed)
            else:
                results[case] = set(allowed.split("|"))
    return count, results


def main(report_path, expected_path):
    count, results = expected(expected_path)
    with open(report_path) as report:
        agents = json.load(report)
    if len(agents) != 1:
        sys.exit("expected one agent in the report, found %d" % len(agents))
    cases = next(iter(agents.values()))
    problems = []
    if len(cases) != count:
        problems.append("%d cases ran, %d expected" % (len(cases), count))
    for case in sorted(set(results) - set(cases)):
        problems.append("%s: listed but not run" % case)
    for case, outcome in sorted(cases.items()):
        allowed = results.get(case, {"OK"})
        if outcome["behavior"] not in allowed:
            problems.append("%s: %s (close: %s), expected %s"
                            % (case, outcome["behavior"], outcome["behaviorClose"], "|".join(sorted(allowed))))
    if problems:
        sys.exit("Autobahn results differ from %s:\n  %s" % (expected_path, "\n  ".join(problems)))
    print("Autobahn: %d cases as expected" % len(cases))


if __name__ == "__main__":
    main(*sys.argv[1:])
