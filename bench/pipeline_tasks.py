"""Forty small Python function tasks for `bench/pipeline.py`, written for this bench (not copied from HumanEval
or MBPP). Each task holds the user's prompt (one or two sentences, the signature and one or two examples), the
name of the function to write, and hidden tests (plain asserts) that the code pipeline never sees. Every rule the
hidden tests rely on is stated in the prompt. Examples come in three forms so the pipeline's example parser is
exercised on each: doctest `>>>` lines (most tasks), "Example: f(x) -> y" and "Example: f(x) == y".
"""

from __future__ import annotations

TASKS: list[dict] = [
    {
        "name": "run_length",
        "entry": "run_length_encode",
        "prompt": '''Write a Python function `run_length_encode(s: str) -> list[tuple[str, int]]` that splits a string into runs of the same character and returns each run as a (character, count) pair, in order. Characters are compared case-sensitively.

Example:
>>> run_length_encode("aaab")
[('a', 3), ('b', 1)]
''',
        "tests": '''assert run_length_encode("") == []
assert run_length_encode("aaab") == [("a", 3), ("b", 1)]
assert run_length_encode("a") == [("a", 1)]
assert run_length_encode("abab") == [("a", 1), ("b", 1), ("a", 1), ("b", 1)]
assert run_length_encode("aAa") == [("a", 1), ("A", 1), ("a", 1)]
assert run_length_encode("   x") == [(" ", 3), ("x", 1)]
assert run_length_encode("ééé") == [("é", 3)]
''',
    },
    {
        "name": "clean_palindrome",
        "entry": "is_clean_palindrome",
        "prompt": '''Write a Python function `is_clean_palindrome(s: str) -> bool` that returns True if `s` reads the same forwards and backwards once you keep only letters and digits (`str.isalnum`) and ignore case. A string with nothing left (including the empty string) counts as a palindrome.

Examples:
>>> is_clean_palindrome("A man, a plan, a canal: Panama")
True
>>> is_clean_palindrome("race a car")
False
''',
        "tests": '''assert is_clean_palindrome("") is True
assert is_clean_palindrome("!!, ") is True
assert is_clean_palindrome("ab") is False
assert is_clean_palindrome("Aba") is True
assert is_clean_palindrome("No 'x' in Nixon") is True
assert is_clean_palindrome("12321") is True
assert is_clean_palindrome("123 21") is True
assert is_clean_palindrome("1a2") is False
assert is_clean_palindrome("Été") is True
''',
    },
    {
        "name": "second_largest",
        "entry": "second_largest",
        "prompt": '''Write a Python function `second_largest(nums: list[int]) -> int | None` that returns the second largest distinct value in the list, or None when the list has fewer than two distinct values.

>>> second_largest([3, 1, 4, 4, 2])
3
''',
        "tests": '''assert second_largest([]) is None
assert second_largest([5]) is None
assert second_largest([2, 2]) is None
assert second_largest([1, 2]) == 1
assert second_largest([-1, -5, -3]) == -3
assert second_largest([4, 4, 3]) == 3
assert second_largest([10, 9, 10, 8]) == 9
assert second_largest([3, 1, 4, 4, 2]) == 3
''',
    },
    {
        "name": "chunk",
        "entry": "chunk",
        "prompt": '''Write a Python function `chunk(items: list, size: int) -> list[list]` that splits a list into consecutive pieces of length `size` (the last piece may be shorter). `size` is always at least 1, an empty list gives [], and the input list is not modified.

Example: chunk([1, 2, 3, 4, 5], 2) -> [[1, 2], [3, 4], [5]]
''',
        "tests": '''assert chunk([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
assert chunk([], 3) == []
assert chunk([1, 2, 3], 1) == [[1], [2], [3]]
assert chunk([1, 2, 3], 3) == [[1, 2, 3]]
assert chunk([1, 2], 5) == [[1, 2]]
assert chunk(list("abcdef"), 4) == [["a", "b", "c", "d"], ["e", "f"]]
_items = [1, 2, 3]
chunk(_items, 2)
assert _items == [1, 2, 3]
''',
    },
    {
        "name": "flatten",
        "entry": "flatten",
        "prompt": '''Write a Python function `flatten(nested: list) -> list` that flattens arbitrarily nested lists into one flat list, keeping left-to-right order. Only lists are flattened; tuples, strings and other values are kept as single items.

>>> flatten([1, [2, [3, 4]], [], 5])
[1, 2, 3, 4, 5]
''',
        "tests": '''assert flatten([1, [2, [3, 4]], [], 5]) == [1, 2, 3, 4, 5]
assert flatten([]) == []
assert flatten([[[]]]) == []
assert flatten([1, 2]) == [1, 2]
assert flatten([[1], [2, [3, [4, [5]]]]]) == [1, 2, 3, 4, 5]
assert flatten(["ab", ("c", "d")]) == ["ab", ("c", "d")]
assert flatten([[None], 0]) == [None, 0]
''',
    },
    {
        "name": "word_frequencies",
        "entry": "word_frequencies",
        "prompt": '''Write a Python function `word_frequencies(text: str) -> dict[str, int]` that counts words in `text`. A word is a maximal run of letters (`str.isalpha`), compared case-insensitively and stored lowercased; keys appear in order of first appearance.

>>> word_frequencies("The cat and the hat.")
{'the': 2, 'cat': 1, 'and': 1, 'hat': 1}
''',
        "tests": '''assert word_frequencies("The cat and the hat.") == {"the": 2, "cat": 1, "and": 1, "hat": 1}
assert word_frequencies("") == {}
assert word_frequencies("123 !!") == {}
assert word_frequencies("Hello, hello HELLO") == {"hello": 3}
assert word_frequencies("don't") == {"don": 1, "t": 1}
assert word_frequencies("café Café") == {"café": 2}
assert word_frequencies("a1b") == {"a": 1, "b": 1}
assert list(word_frequencies("b a b")) == ["b", "a"]
''',
    },
    {
        "name": "caesar_shift",
        "entry": "caesar_shift",
        "prompt": '''Write a Python function `caesar_shift(s: str, k: int) -> str` that shifts every ASCII letter k places along the alphabet, wrapping around and keeping its case; all other characters (digits, punctuation, spaces, non-ASCII letters) stay unchanged. `k` may be negative or larger than 26.

>>> caesar_shift("Hello, World!", 3)
'Khoor, Zruog!'
''',
        "tests": '''assert caesar_shift("Hello, World!", 3) == "Khoor, Zruog!"
assert caesar_shift("", 5) == ""
assert caesar_shift("xyz", 3) == "abc"
assert caesar_shift("abc", -1) == "zab"
assert caesar_shift("ABC", 29) == "DEF"
assert caesar_shift("Hi 9!", 26) == "Hi 9!"
assert caesar_shift("é a", 1) == "é b"
assert caesar_shift("Zz", -52) == "Zz"
''',
    },
    {
        "name": "digit_sum",
        "entry": "digit_sum",
        "prompt": '''Write a Python function `digit_sum(n: int) -> int` that returns the sum of the decimal digits of `n`; the sign of a negative number is ignored.

Example: digit_sum(-123) == 6
''',
        "tests": '''assert digit_sum(0) == 0
assert digit_sum(7) == 7
assert digit_sum(123) == 6
assert digit_sum(-123) == 6
assert digit_sum(1000000) == 1
assert digit_sum(999999999999) == 108
''',
    },
    {
        "name": "merge_intervals",
        "entry": "merge_intervals",
        "prompt": '''Write a Python function `merge_intervals(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]` that merges overlapping intervals. Each interval is (start, end) with start <= end; intervals that overlap or touch (share an endpoint) are merged. The input may be unsorted; return the merged intervals sorted by start.

>>> merge_intervals([(8, 10), (1, 3), (2, 6)])
[(1, 6), (8, 10)]
>>> merge_intervals([(1, 2), (2, 4)])
[(1, 4)]
''',
        "tests": '''assert merge_intervals([(8, 10), (1, 3), (2, 6)]) == [(1, 6), (8, 10)]
assert merge_intervals([(1, 2), (2, 4)]) == [(1, 4)]
assert merge_intervals([]) == []
assert merge_intervals([(5, 5)]) == [(5, 5)]
assert merge_intervals([(1, 10), (2, 3)]) == [(1, 10)]
assert merge_intervals([(-5, -1), (-3, 2)]) == [(-5, 2)]
assert merge_intervals([(1, 2), (3, 4)]) == [(1, 2), (3, 4)]
assert merge_intervals([(4, 6), (1, 2), (2, 3), (6, 7)]) == [(1, 3), (4, 7)]
''',
    },
    {
        "name": "rotate_right",
        "entry": "rotate_right",
        "prompt": '''Write a Python function `rotate_right(items: list, k: int) -> list` that returns a new list rotated right by `k` positions. `k` may be negative (rotate left) or larger than the list's length; an empty list gives [].

>>> rotate_right([1, 2, 3, 4, 5], 2)
[4, 5, 1, 2, 3]
''',
        "tests": '''assert rotate_right([1, 2, 3, 4, 5], 2) == [4, 5, 1, 2, 3]
assert rotate_right([], 3) == []
assert rotate_right([1], 100) == [1]
assert rotate_right([1, 2, 3], 0) == [1, 2, 3]
assert rotate_right([1, 2, 3], 3) == [1, 2, 3]
assert rotate_right([1, 2, 3], 4) == [3, 1, 2]
assert rotate_right([1, 2, 3], -1) == [2, 3, 1]
assert rotate_right([1, 2, 3, 4], -6) == [3, 4, 1, 2]
_items = [1, 2, 3]
rotate_right(_items, 1)
assert _items == [1, 2, 3]
''',
    },
    {
        "name": "count_vowels",
        "entry": "count_vowels",
        "prompt": '''Write a Python function `count_vowels(s: str) -> int` that counts the vowels a, e, i, o, u in either case ('y' is not a vowel, and accented letters are not counted).

Example: count_vowels("Programming is FUN") -> 5
''',
        "tests": '''assert count_vowels("Programming is FUN") == 5
assert count_vowels("") == 0
assert count_vowels("xyz") == 0
assert count_vowels("AEIOUaeiou") == 10
assert count_vowels("rhythm") == 0
assert count_vowels("café") == 1
assert count_vowels("Hello World") == 3
''',
    },
    {
        "name": "capitalize_words",
        "entry": "capitalize_words",
        "prompt": '''Write a Python function `capitalize_words(s: str) -> str` that upper-cases the first character of every word and lower-cases the rest of it. Words are separated by spaces, and all spaces (leading, trailing, repeated) are kept exactly as they are.

>>> capitalize_words("hello   wORLD")
'Hello   World'
''',
        "tests": '''assert capitalize_words("hello   wORLD") == "Hello   World"
assert capitalize_words("") == ""
assert capitalize_words("  a b  ") == "  A B  "
assert capitalize_words("x") == "X"
assert capitalize_words("123abc DEF") == "123abc Def"
assert capitalize_words("élan vital") == "Élan Vital"
assert capitalize_words("it's mine") == "It's Mine"
''',
    },
    {
        "name": "roman_to_int",
        "entry": "roman_to_int",
        "prompt": '''Write a Python function `roman_to_int(s: str) -> int` that converts a valid upper-case Roman numeral (1 to 3999, using subtractive forms such as IV and CM) to an integer.

>>> roman_to_int("MCMXCIV")
1994
''',
        "tests": '''assert roman_to_int("MCMXCIV") == 1994
assert roman_to_int("I") == 1
assert roman_to_int("IV") == 4
assert roman_to_int("IX") == 9
assert roman_to_int("XL") == 40
assert roman_to_int("LVIII") == 58
assert roman_to_int("MMMCMXCIX") == 3999
assert roman_to_int("CDXLIV") == 444
''',
    },
    {
        "name": "int_to_roman",
        "entry": "int_to_roman",
        "prompt": '''Write a Python function `int_to_roman(n: int) -> str` that converts an integer from 1 to 3999 to its standard upper-case Roman numeral, using subtractive forms (IV, IX, XL, XC, CD, CM).

Example: int_to_roman(1994) == "MCMXCIV"
''',
        "tests": '''assert int_to_roman(1994) == "MCMXCIV"
assert int_to_roman(1) == "I"
assert int_to_roman(4) == "IV"
assert int_to_roman(9) == "IX"
assert int_to_roman(14) == "XIV"
assert int_to_roman(40) == "XL"
assert int_to_roman(444) == "CDXLIV"
assert int_to_roman(2024) == "MMXXIV"
assert int_to_roman(3999) == "MMMCMXCIX"
''',
    },
    {
        "name": "balanced_brackets",
        "entry": "is_balanced",
        "prompt": '''Write a Python function `is_balanced(s: str) -> bool` that returns True if the brackets (), [] and {} in `s` are properly closed and nested; all other characters are ignored.

>>> is_balanced("f(a[1], {b: 2})")
True
>>> is_balanced("(]")
False
''',
        "tests": '''assert is_balanced("f(a[1], {b: 2})") is True
assert is_balanced("(]") is False
assert is_balanced("") is True
assert is_balanced("abc") is True
assert is_balanced("(") is False
assert is_balanced(")(") is False
assert is_balanced("([)]") is False
assert is_balanced("{[()()]}") is True
assert is_balanced("((())") is False
assert is_balanced("}") is False
''',
    },
    {
        "name": "moving_average",
        "entry": "moving_average",
        "prompt": '''Write a Python function `moving_average(values: list[float], window: int) -> list[float]` that returns the average of every run of `window` consecutive values, in order. `window` is at least 1; if it is larger than the number of values, return [].

>>> moving_average([1, 2, 3, 4], 2)
[1.5, 2.5, 3.5]
''',
        "tests": '''def _close(got, want):
    return len(got) == len(want) and all(abs(g - w) < 1e-9 for g, w in zip(got, want))


assert _close(moving_average([1, 2, 3, 4], 2), [1.5, 2.5, 3.5])
assert moving_average([1, 2], 3) == []
assert moving_average([], 1) == []
assert _close(moving_average([5], 1), [5.0])
assert _close(moving_average([0.1, 0.2, 0.3], 3), [0.2])
assert _close(moving_average([-1, 1, -1, 1], 2), [0.0, 0.0, 0.0])
assert _close(moving_average([1, 2, 3], 1), [1.0, 2.0, 3.0])
assert _close(moving_average([2, 4, 6, 8], 3), [4.0, 6.0])
''',
    },
    {
        "name": "pairs_with_sum",
        "entry": "pairs_with_sum",
        "prompt": '''Write a Python function `pairs_with_sum(nums: list[int], target: int) -> list[tuple[int, int]]` that returns every distinct pair of values (a, b) with a <= b and a + b == target, where a and b come from two different positions in the list. Each pair appears once, and the list of pairs is sorted ascending.

>>> pairs_with_sum([1, 5, 3, 3, 7, -1], 6)
[(-1, 7), (1, 5), (3, 3)]
''',
        "tests": '''assert pairs_with_sum([1, 5, 3, 3, 7, -1], 6) == [(-1, 7), (1, 5), (3, 3)]
assert pairs_with_sum([], 5) == []
assert pairs_with_sum([3], 6) == []
assert pairs_with_sum([3, 3], 6) == [(3, 3)]
assert pairs_with_sum([1, 2, 3, 4], 5) == [(1, 4), (2, 3)]
assert pairs_with_sum([0, 0, 0], 0) == [(0, 0)]
assert pairs_with_sum([2, 2, 2, 4], 6) == [(2, 4)]
assert pairs_with_sum([-2, 2, 0], 0) == [(-2, 2)]
''',
    },
    {
        "name": "transpose",
        "entry": "transpose",
        "prompt": '''Write a Python function `transpose(matrix: list[list]) -> list[list]` that returns the transpose of a matrix given as a list of rows (all rows have the same length), so rows become columns. An empty matrix gives [].

>>> transpose([[1, 2, 3], [4, 5, 6]])
[[1, 4], [2, 5], [3, 6]]
''',
        "tests": '''assert transpose([[1, 2, 3], [4, 5, 6]]) == [[1, 4], [2, 5], [3, 6]]
assert transpose([]) == []
assert transpose([[1]]) == [[1]]
assert transpose([[1, 2]]) == [[1], [2]]
assert transpose([[1], [2]]) == [[1, 2]]
assert transpose([["a", "b"], ["c", "d"]]) == [["a", "c"], ["b", "d"]]
assert transpose(transpose([[1, 2, 3], [4, 5, 6]])) == [[1, 2, 3], [4, 5, 6]]
''',
    },
    {
        "name": "anagram",
        "entry": "is_anagram",
        "prompt": '''Write a Python function `is_anagram(a: str, b: str) -> bool` that returns True if the two strings contain the same characters with the same counts, ignoring case and spaces (every other character, punctuation included, counts).

Example: is_anagram("Dormitory", "dirty room") -> True
''',
        "tests": '''assert is_anagram("Dormitory", "dirty room") is True
assert is_anagram("", "") is True
assert is_anagram("a", "A") is True
assert is_anagram("ab", "a") is False
assert is_anagram("listen", "silent") is True
assert is_anagram("aab", "abb") is False
assert is_anagram("a b c", "CBA") is True
assert is_anagram("a!", "!a") is True
assert is_anagram("a!", "a") is False
''',
    },
    {
        "name": "common_prefix",
        "entry": "longest_common_prefix",
        "prompt": '''Write a Python function `longest_common_prefix(words: list[str]) -> str` that returns the longest string that every word starts with (case-sensitive). An empty list gives "".

>>> longest_common_prefix(["flower", "flow", "flight"])
'fl'
''',
        "tests": '''assert longest_common_prefix(["flower", "flow", "flight"]) == "fl"
assert longest_common_prefix([]) == ""
assert longest_common_prefix(["alone"]) == "alone"
assert longest_common_prefix(["a", "b"]) == ""
assert longest_common_prefix(["", "abc"]) == ""
assert longest_common_prefix(["Abc", "abc"]) == ""
assert longest_common_prefix(["same", "same"]) == "same"
assert longest_common_prefix(["interview", "internet", "interval"]) == "inter"
''',
    },
    {
        "name": "summarize_ranges",
        "entry": "summarize_ranges",
        "prompt": '''Write a Python function `summarize_ranges(nums: list[int]) -> list[str]` that takes integers sorted ascending with no duplicates and collapses each run of consecutive integers into the string f"{start}-{end}"; a number on its own becomes str(n).

>>> summarize_ranges([0, 1, 2, 4, 6, 7])
['0-2', '4', '6-7']
''',
        "tests": '''assert summarize_ranges([0, 1, 2, 4, 6, 7]) == ["0-2", "4", "6-7"]
assert summarize_ranges([]) == []
assert summarize_ranges([5]) == ["5"]
assert summarize_ranges([1, 3, 5]) == ["1", "3", "5"]
assert summarize_ranges([-3, -2, -1, 1]) == ["-3--1", "1"]
assert summarize_ranges([1, 2]) == ["1-2"]
assert summarize_ranges([10, 11, 12, 13]) == ["10-13"]
''',
    },
    {
        "name": "snake_to_camel",
        "entry": "snake_to_camel",
        "prompt": '''Write a Python function `snake_to_camel(s: str) -> str` that converts snake_case to camelCase: split on underscores and ignore empty parts; the first part is lower-cased entirely, and each later part gets an upper-case first character with the rest lower-cased.

Example: snake_to_camel("user_first_name") == "userFirstName"
''',
        "tests": '''assert snake_to_camel("user_first_name") == "userFirstName"
assert snake_to_camel("") == ""
assert snake_to_camel("word") == "word"
assert snake_to_camel("HTTP_status") == "httpStatus"
assert snake_to_camel("__a__b__") == "aB"
assert snake_to_camel("a_1b") == "a1b"
assert snake_to_camel("one_TWO_three") == "oneTwoThree"
''',
    },
    {
        "name": "camel_to_snake",
        "entry": "camel_to_snake",
        "prompt": '''Write a Python function `camel_to_snake(s: str) -> str` that inserts an underscore before every upper-case letter except one at the very start, then lower-cases the whole string.

>>> camel_to_snake("parseHttpResponse")
'parse_http_response'
''',
        "tests": '''assert camel_to_snake("parseHttpResponse") == "parse_http_response"
assert camel_to_snake("") == ""
assert camel_to_snake("a") == "a"
assert camel_to_snake("Hello") == "hello"
assert camel_to_snake("helloWorld") == "hello_world"
assert camel_to_snake("HTTP") == "h_t_t_p"
assert camel_to_snake("getX2Value") == "get_x2_value"
assert camel_to_snake("already_snake") == "already_snake"
''',
    },
    {
        "name": "primes_up_to",
        "entry": "primes_up_to",
        "prompt": '''Write a Python function `primes_up_to(n: int) -> list[int]` that returns all prime numbers less than or equal to `n`, in ascending order (an empty list when n < 2).

>>> primes_up_to(20)
[2, 3, 5, 7, 11, 13, 17, 19]
''',
        "tests": '''assert primes_up_to(20) == [2, 3, 5, 7, 11, 13, 17, 19]
assert primes_up_to(0) == []
assert primes_up_to(1) == []
assert primes_up_to(-5) == []
assert primes_up_to(2) == [2]
assert primes_up_to(3) == [2, 3]
assert primes_up_to(30)[-1] == 29
assert len(primes_up_to(1000)) == 168
''',
    },
    {
        "name": "median",
        "entry": "median",
        "prompt": '''Write a Python function `median(values: list[float]) -> float | None` that returns the median of the values (the mean of the two middle values when the count is even), or None for an empty list. Do not modify the input list.

>>> median([4, 1, 3, 2])
2.5
''',
        "tests": '''assert median([]) is None
assert abs(median([4, 1, 3, 2]) - 2.5) < 1e-9
assert abs(median([5]) - 5) < 1e-9
assert abs(median([3, 1, 2]) - 2) < 1e-9
assert abs(median([-1, -3]) - (-2)) < 1e-9
assert abs(median([1.5, 2.5, 10.0]) - 2.5) < 1e-9
_values = [3, 1, 2]
median(_values)
assert _values == [3, 1, 2]
''',
    },
    {
        "name": "most_common",
        "entry": "most_common",
        "prompt": '''Write a Python function `most_common(nums: list[int]) -> int | None` that returns the value occurring most often in the list; when several values tie, return the smallest of them. An empty list gives None.

>>> most_common([3, 1, 3, 2, 1])
1
''',
        "tests": '''assert most_common([3, 1, 3, 2, 1]) == 1
assert most_common([]) is None
assert most_common([7]) == 7
assert most_common([2, 2, 1]) == 2
assert most_common([5, 4, 5, 4]) == 4
assert most_common([-1, -1, 2, 2, 3]) == -1
assert most_common([0, 1, 1, 0, 0]) == 0
''',
    },
    {
        "name": "find_first",
        "entry": "find_first",
        "prompt": '''Write a Python function `find_first(sorted_items: list[int], target: int) -> int` that, given a list sorted ascending (it may contain duplicates), returns the index of the first occurrence of `target`, or -1 if it is absent.

>>> find_first([1, 2, 2, 2, 5], 2)
1
''',
        "tests": '''assert find_first([1, 2, 2, 2, 5], 2) == 1
assert find_first([], 1) == -1
assert find_first([1], 1) == 0
assert find_first([1], 0) == -1
assert find_first([1, 3, 5], 4) == -1
assert find_first([2, 2, 2], 2) == 0
assert find_first([1, 2, 3], 3) == 2
assert find_first([-5, -5, 0], -5) == 0
assert find_first(list(range(0, 100000, 2)), 99998) == 49999
''',
    },
    {
        "name": "dedupe",
        "entry": "dedupe",
        "prompt": '''Write a Python function `dedupe(items: list) -> list` that removes repeated items, keeping the first occurrence of each in the original order.

Examples:
dedupe([3, 1, 3, 2, 1]) -> [3, 1, 2]
dedupe(["a", "A", "a"]) -> ["a", "A"]
''',
        "tests": '''assert dedupe([3, 1, 3, 2, 1]) == [3, 1, 2]
assert dedupe([]) == []
assert dedupe([1, 1, 1]) == [1]
assert dedupe(["a", "A", "a"]) == ["a", "A"]
assert dedupe([1, 2, 3]) == [1, 2, 3]
assert dedupe([None, 0, None]) == [None, 0]
assert dedupe(["b", "a", "b", "c", "a"]) == ["b", "a", "c"]
''',
    },
    {
        "name": "diagonal_sum",
        "entry": "diagonal_sum",
        "prompt": '''Write a Python function `diagonal_sum(matrix: list[list[int]]) -> int` that returns the sum of both diagonals of a square matrix, counting the centre element only once when the size is odd. An empty matrix gives 0.

>>> diagonal_sum([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
25
''',
        "tests": '''assert diagonal_sum([[1, 2, 3], [4, 5, 6], [7, 8, 9]]) == 25
assert diagonal_sum([]) == 0
assert diagonal_sum([[4]]) == 4
assert diagonal_sum([[1, 2], [3, 4]]) == 10
assert diagonal_sum([[1] * 4 for _ in range(4)]) == 8
assert diagonal_sum([[-1, 0], [0, -1]]) == -2
assert diagonal_sum([[1] * 5 for _ in range(5)]) == 9
''',
    },
    {
        "name": "parse_key_values",
        "entry": "parse_key_values",
        "prompt": '''Write a Python function `parse_key_values(s: str) -> dict[str, str]` that parses "key=value" pairs separated by ";". Split each pair at its first "=", strip whitespace around keys and values, skip segments that are blank or contain no "=", and let a later duplicate key override an earlier one.

>>> parse_key_values("name = Ada; lang=python;")
{'name': 'Ada', 'lang': 'python'}
''',
        "tests": '''assert parse_key_values("name = Ada; lang=python;") == {"name": "Ada", "lang": "python"}
assert parse_key_values("") == {}
assert parse_key_values(";; ;") == {}
assert parse_key_values("a=1;a=2") == {"a": "2"}
assert parse_key_values("url=http://x?a=b") == {"url": "http://x?a=b"}
assert parse_key_values("flag; k=v") == {"k": "v"}
assert parse_key_values(" k = ") == {"k": ""}
assert parse_key_values("é=ü") == {"é": "ü"}
''',
    },
    {
        "name": "valid_ipv4",
        "entry": "is_valid_ipv4",
        "prompt": '''Write a Python function `is_valid_ipv4(s: str) -> bool` that checks for a dotted IPv4 address: exactly four parts separated by dots, each made only of the ASCII digits 0-9, with a value from 0 to 255 and no leading zeros (except "0" itself). Any other character, including surrounding whitespace or a sign, makes it invalid.

>>> is_valid_ipv4("192.168.0.1")
True
>>> is_valid_ipv4("256.1.1.1")
False
''',
        "tests": '''assert is_valid_ipv4("192.168.0.1") is True
assert is_valid_ipv4("256.1.1.1") is False
assert is_valid_ipv4("") is False
assert is_valid_ipv4("0.0.0.0") is True
assert is_valid_ipv4("255.255.255.255") is True
assert is_valid_ipv4("01.2.3.4") is False
assert is_valid_ipv4("1.2.3.4.5") is False
assert is_valid_ipv4(" 1.2.3.4") is False
assert is_valid_ipv4("+1.2.3.4") is False
assert is_valid_ipv4("1.2.3.٣") is False
''',
    },
    {
        "name": "group_by_length",
        "entry": "group_by_length",
        "prompt": '''Write a Python function `group_by_length(words: list[str]) -> dict[int, list[str]]` that groups words by their length: each key is a length and its value lists the words of that length in their original order (duplicates kept). Keys appear in order of first appearance.

>>> group_by_length(["hi", "cat", "to", "dog"])
{2: ['hi', 'to'], 3: ['cat', 'dog']}
''',
        "tests": '''assert group_by_length(["hi", "cat", "to", "dog"]) == {2: ["hi", "to"], 3: ["cat", "dog"]}
assert group_by_length([]) == {}
assert group_by_length([""]) == {0: [""]}
assert group_by_length(["a", "a"]) == {1: ["a", "a"]}
assert group_by_length(["ab", "c", "de"]) == {2: ["ab", "de"], 1: ["c"]}
assert group_by_length(["été", "abc"]) == {3: ["été", "abc"]}
''',
    },
    {
        "name": "collatz_steps",
        "entry": "collatz_steps",
        "prompt": '''Write a Python function `collatz_steps(n: int) -> int` that counts how many steps it takes a positive integer to reach 1, where each step halves an even number and turns an odd number m into 3*m + 1.

Example: collatz_steps(6) == 8
''',
        "tests": '''assert collatz_steps(1) == 0
assert collatz_steps(2) == 1
assert collatz_steps(3) == 7
assert collatz_steps(6) == 8
assert collatz_steps(27) == 111
assert collatz_steps(97) == 118
''',
    },
    {
        "name": "hamming_distance",
        "entry": "hamming_distance",
        "prompt": '''Write a Python function `hamming_distance(a: str, b: str) -> int` that counts the positions at which two equal-length strings differ (case-sensitive); raise ValueError if their lengths differ.

>>> hamming_distance("karolin", "kathrin")
3
''',
        "tests": '''assert hamming_distance("karolin", "kathrin") == 3
assert hamming_distance("", "") == 0
assert hamming_distance("a", "a") == 0
assert hamming_distance("a", "A") == 1
assert hamming_distance("abc", "abd") == 1
assert hamming_distance("1011101", "1001001") == 2
try:
    hamming_distance("abc", "ab")
except ValueError:
    pass
else:
    raise AssertionError("expected ValueError for different lengths")
''',
    },
    {
        "name": "wrap_words",
        "entry": "wrap_words",
        "prompt": '''Write a Python function `wrap_words(text: str, width: int) -> list[str]` that splits `text` into words on whitespace and greedily fills lines, joining words with single spaces, so that no line is longer than `width` unless it holds a single word longer than `width` (such a word gets a line of its own and is not split). Blank text gives [].

>>> wrap_words("the quick brown fox jumps", 10)
['the quick', 'brown fox', 'jumps']
''',
        "tests": '''assert wrap_words("the quick brown fox jumps", 10) == ["the quick", "brown fox", "jumps"]
assert wrap_words("", 5) == []
assert wrap_words("   ", 5) == []
assert wrap_words("hello", 3) == ["hello"]
assert wrap_words("a b c d", 3) == ["a b", "c d"]
assert wrap_words("a  b" + chr(10) + "c", 80) == ["a b c"]
assert wrap_words("tiny enormousword x", 5) == ["tiny", "enormousword", "x"]
assert wrap_words("ab cd", 5) == ["ab cd"]
''',
    },
    {
        "name": "to_base",
        "entry": "to_base",
        "prompt": '''Write a Python function `to_base(n: int, base: int) -> str` that writes the integer `n` in a base from 2 to 16, using the digits 0-9 then lower-case a-f; a negative number gets a leading "-", and 0 is "0".

Example: to_base(255, 16) -> "ff"
''',
        "tests": '''assert to_base(255, 16) == "ff"
assert to_base(0, 2) == "0"
assert to_base(5, 2) == "101"
assert to_base(-5, 2) == "-101"
assert to_base(16, 16) == "10"
assert to_base(100, 10) == "100"
assert to_base(8, 8) == "10"
assert to_base(35, 12) == "2b"
''',
    },
    {
        "name": "spiral_order",
        "entry": "spiral_order",
        "prompt": '''Write a Python function `spiral_order(matrix: list[list[int]]) -> list[int]` that returns the elements of a rectangular matrix in clockwise spiral order, starting at the top-left corner. An empty matrix gives [].

>>> spiral_order([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
[1, 2, 3, 6, 9, 8, 7, 4, 5]
''',
        "tests": '''assert spiral_order([[1, 2, 3], [4, 5, 6], [7, 8, 9]]) == [1, 2, 3, 6, 9, 8, 7, 4, 5]
assert spiral_order([]) == []
assert spiral_order([[1]]) == [1]
assert spiral_order([[1, 2, 3]]) == [1, 2, 3]
assert spiral_order([[1], [2], [3]]) == [1, 2, 3]
assert spiral_order([[1, 2], [3, 4]]) == [1, 2, 4, 3]
assert spiral_order([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]]) == [1, 2, 3, 4, 8, 12, 11, 10, 9, 5, 6, 7]
assert spiral_order([[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]) == [1, 2, 3, 6, 9, 12, 11, 10, 7, 4, 5, 8]
''',
    },
    {
        "name": "count_islands",
        "entry": "count_islands",
        "prompt": '''Write a Python function `count_islands(grid: list[str]) -> int` that counts the islands in a grid of equal-length strings, where "#" is land and "." is water; an island is a group of land cells connected horizontally or vertically (not diagonally).

>>> count_islands(["##..", "#..#", "..##"])
2
''',
        "tests": '''assert count_islands(["##..", "#..#", "..##"]) == 2
assert count_islands([]) == 0
assert count_islands(["...."]) == 0
assert count_islands(["#"]) == 1
assert count_islands(["#.#"]) == 2
assert count_islands(["#.", ".#"]) == 2
assert count_islands(["###", "#.#", "###"]) == 1
assert count_islands(["#.#.#", ".#.#.", "#.#.#"]) == 8
assert count_islands(["#" * 20] * 20) == 1
''',
    },
    {
        "name": "normalize_path",
        "entry": "normalize_path",
        "prompt": '''Write a Python function `normalize_path(path: str) -> str` that normalizes an absolute Unix-style path: repeated slashes collapse, "." components are dropped, ".." removes the previous component (at the root it does nothing), and any other component, such as "...", is an ordinary name. The result starts with "/" and has no trailing slash unless it is just "/".

>>> normalize_path("/a/./b/../c//d/")
'/a/c/d'
''',
        "tests": '''assert normalize_path("/a/./b/../c//d/") == "/a/c/d"
assert normalize_path("/") == "/"
assert normalize_path("//") == "/"
assert normalize_path("/..") == "/"
assert normalize_path("/a/..") == "/"
assert normalize_path("/a/b/../../..") == "/"
assert normalize_path("/home//user/./docs") == "/home/user/docs"
assert normalize_path("/a/.../b") == "/a/.../b"
assert normalize_path("/.hidden/x/") == "/.hidden/x"
''',
    },
    {
        "name": "format_duration",
        "entry": "format_duration",
        "prompt": '''Write a Python function `format_duration(seconds: int) -> str` that formats a non-negative number of seconds as hours, minutes and seconds like "1h 2m 5s", leaving out any unit that is zero (0 gives "0s"). There is no unit above hours.

Example: format_duration(3725) == "1h 2m 5s"
''',
        "tests": '''assert format_duration(3725) == "1h 2m 5s"
assert format_duration(0) == "0s"
assert format_duration(59) == "59s"
assert format_duration(60) == "1m"
assert format_duration(3600) == "1h"
assert format_duration(3601) == "1h 1s"
assert format_duration(86400) == "24h"
assert format_duration(90061) == "25h 1m 1s"
''',
    },
]
