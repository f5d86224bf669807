"""The shipped list of Malang's kelurahan: exactly 57, in its 5 kecamatan, with its source credited."""

from __future__ import annotations

from channels.kelurahan import DATA, all_kelurahan, by_kecamatan, find_kelurahan

# Kota Malang's division (Pemerintah Kota Malang; BPS Kota Malang, "Kota Malang Dalam Angka").
PER_KECAMATAN = {"Blimbing": 11, "Kedungkandang": 12, "Klojen": 11, "Lowokwaru": 12, "Sukun": 11}


def test_exactly_57_kelurahan_in_the_5_kecamatan_with_their_counts() -> None:
    places = all_kelurahan()
    assert len(places) == 57 and len({place.key for place in places}) == 57
    assert {kecamatan: len(group) for kecamatan, group in by_kecamatan().items()} == PER_KECAMATAN
    # Each kecamatan is one block in the file, so the form's <optgroup>s follow it.
    order = [place.kecamatan for place in places]
    assert order == sorted(order, key=list(PER_KECAMATAN).index)


def test_the_list_credits_its_source() -> None:
    header = "".join(line for line in DATA.read_text(encoding="utf-8").splitlines() if line.startswith("#"))
    assert "Pemerintah Kota Malang" in header and "BPS Kota Malang" in header and "57 kelurahan" in header


def test_the_kecamatan_seats_and_known_names_are_found_forgivingly() -> None:
    for kecamatan in PER_KECAMATAN:  # each kecamatan has a kelurahan of its own name
        assert find_kelurahan(kecamatan).kecamatan == kecamatan
    assert find_kelurahan("Kel. Oro-oro Dowo").key == "oro-oro-dowo"
    assert find_kelurahan("rampal celaket").kecamatan == "Klojen"
    assert find_kelurahan("Surabaya") is None
