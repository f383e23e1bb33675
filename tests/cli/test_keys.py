"""The keyring: BIP-39/BIP-32 derivation against published vectors, both backends, the CLI."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from sultan.client.errors import (
    DuplicateKeyError,
    InvalidMnemonicError,
    KeyNotFoundError,
    KeyringError,
    WrongPassphraseError,
)
from sultan.client.keyring import (
    COSMOS_HD_PATH,
    Keyring,
    address_of,
    derive_private_key,
    generate_mnemonic,
    mnemonic_to_seed,
    private_key_from_mnemonic,
    validate_mnemonic,
)
from sultan.kernel import address as bech32_address
from sultan.kernel.crypto import secp256k1

from .conftest import json_out, ok

ABANDON = (
    "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"
)
JUNK = "test test test test test test test test test test test junk"
PASSPHRASE = "correct horse battery"


def _as_sultan(cosmos_address: str) -> str:
    """A published cosmos1… address re-encoded with this chain's prefix."""
    prefix, data = bech32_address.decode_any(cosmos_address)
    assert prefix == "cosmos"
    return bech32_address.encode("sultan", data)


# -- derivation -----------------------------------------------------------------------------


def test_bip39_seed_matches_the_published_vector():
    # BIP-39 test vector 1 (passphrase "TREZOR").
    seed = mnemonic_to_seed(ABANDON, "TREZOR")
    assert seed.hex() == (
        "c55257c360c07c72029aebc1b53c05ed0362ada38ead3e3e9efa3708e53495531f09a6987599d18264c1"
        "e1c92f2cf141630c7a3c4ab7c81b2f001698e7463b04"
    )


@pytest.mark.parametrize(
    "path, private_key",
    [  # BIP-32 test vector 1 (= SLIP-0010 secp256k1 vector 1), seed 000102…0f
        ("m", "e8f32e723decf4051aefac8e2c93c9c5b214313817cdb01a1494b917c8436b35"),
        ("m/0'", "edb2e14f9ee77d26dd93b4ecede8d16ed408ce149b6cd80b0715a2d911a0afea"),
        ("m/0'/1", "3c6cb8d0f6a264c91ea8b5030fadaa8e538b020f0a387421a12de9319dc93368"),
        ("m/0'/1/2'", "cbce0d719ecf7431d88e6a89fa1483e02e35092af60c042b1df2ff59fa424dca"),
        ("m/0'/1/2'/2", "0f479245fb19a38a1954c5c7c0ebab2f9bdfd96a17563ef28a6a4b1a2a764ef4"),
        (
            "m/0H/1/2H/2/1000000000",
            "471b76e389e528d6de6d816857e012c5455051cad6660850e58372a6c3e6e7c8",
        ),
    ],
)
def test_bip32_derivation_matches_the_published_vector(path, private_key):
    seed = bytes.fromhex("000102030405060708090a0b0c0d0e0f")
    assert derive_private_key(seed, path).hex() == private_key


@pytest.mark.parametrize(
    "mnemonic, cosmos_address",
    [
        # The address CosmJS, Keplr and cosmpy document for this mnemonic on m/44'/118'/0'/0/0.
        (ABANDON, "cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4"),
        # Cross-checked with cosmpy 0.12 (LocalWallet.from_mnemonic).
        (JUNK, "cosmos15yk64u7zc9g9k2yr2wmzeva5qgwxps6yxj00e7"),
    ],
)
def test_cosmos_hd_path_gives_the_known_addresses(mnemonic, cosmos_address):
    key = private_key_from_mnemonic(mnemonic)
    assert address_of(secp256k1.public_key(key)) == _as_sultan(cosmos_address)


def test_abandon_private_key_is_the_known_one():
    assert private_key_from_mnemonic(ABANDON).hex() == (
        "c4a48e2fce1481cd3294b4490f6678090ea98d3d0e5cd984558ab0968741b104"
    )


def test_derivation_agrees_with_bip_utils_on_random_mnemonics():
    import bip_utils  # an independent BIP-39/BIP-32 implementation, as the oracle

    for words in (12, 24):
        for _ in range(3):
            mnemonic = generate_mnemonic(words)
            seed = bip_utils.Bip39SeedGenerator(mnemonic).Generate()
            theirs = (
                bip_utils.Bip32Slip10Secp256k1.FromSeed(seed)
                .DerivePath(COSMOS_HD_PATH)
                .PrivateKey()
                .Raw()
                .ToBytes()
            )
            assert private_key_from_mnemonic(mnemonic) == theirs


def test_generated_mnemonics_are_valid_and_24_words():
    mnemonic = generate_mnemonic()
    assert len(mnemonic.split()) == 24
    assert validate_mnemonic(mnemonic) == mnemonic
    assert generate_mnemonic() != mnemonic


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("abandon abandon abandon", "expected 12, 15, 18, 21 or 24 words, got 3"),
        (ABANDON.replace("about", "abuot"), "'abuot' (word 12)"),
        (ABANDON.replace("about", "abandon"), "checksum mismatch"),
    ],
)
def test_invalid_mnemonics_are_refused_with_the_reason(text, message):
    with pytest.raises(InvalidMnemonicError, match="invalid mnemonic") as info:
        validate_mnemonic(text)
    assert message in str(info.value)


def test_mnemonics_are_normalized():
    assert validate_mnemonic("  " + ABANDON.upper().replace(" ", "   \n") + "\n") == ABANDON


# -- keyring: test backend ------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_test_backend_round_trip_and_file_modes(tmp_path):
    keyring = Keyring(tmp_path, "test")
    info, mnemonic = keyring.add("alice")
    assert len(mnemonic.split()) == 24
    assert info.address.startswith("sultan1")
    assert keyring.get("alice") == info
    assert keyring.find(info.address) == info
    assert keyring.list_keys() == [info]
    assert keyring.private_key("alice") == private_key_from_mnemonic(mnemonic)
    assert keyring.signer("alice").address == info.address
    path = tmp_path / "keyring-test" / "alice.json"
    assert _mode(path) == 0o600
    assert _mode(tmp_path / "keyring-test") == 0o700
    record = json.loads(path.read_text())
    assert "UNENCRYPTED" in record["WARNING"]
    assert mnemonic.split()[0] not in path.read_text()  # the mnemonic is never stored


def test_recovered_key_has_the_mnemonic_address(tmp_path):
    keyring = Keyring(tmp_path, "test")
    info, phrase = keyring.add("abandon", ABANDON)
    assert phrase == ABANDON
    assert info.address == _as_sultan("cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4")
    assert info.hd_path == COSMOS_HD_PATH


def test_duplicates_unknown_and_bad_names_are_refused(tmp_path):
    keyring = Keyring(tmp_path, "test")
    keyring.add("alice", ABANDON)
    with pytest.raises(DuplicateKeyError, match="already exists"):
        keyring.add("alice")
    with pytest.raises(DuplicateKeyError, match="already in the keyring as 'alice'"):
        keyring.add("bob", ABANDON)
    with pytest.raises(KeyNotFoundError, match="key 'carol' not found"):
        keyring.get("carol")
    with pytest.raises(KeyNotFoundError, match="no key with address"):
        keyring.find(address_of(secp256k1.public_key(private_key_from_mnemonic(JUNK))))
    for bad in ("../x", "", "a/b", "x" * 65, ".hidden"):
        with pytest.raises(KeyringError, match="invalid key name"):
            keyring.add(bad)
    with pytest.raises(KeyringError, match="unknown keyring backend"):
        Keyring(tmp_path, "os")
    assert [k.name for k in keyring.list_keys()] == ["alice"]


def test_delete(tmp_path):
    keyring = Keyring(tmp_path, "test")
    keyring.add("alice")
    keyring.delete("alice")
    assert keyring.list_keys() == []
    with pytest.raises(KeyNotFoundError):
        keyring.delete("alice")


def test_not_found_points_at_the_other_backend(tmp_path):
    Keyring(tmp_path, "test").add("dev")
    with pytest.raises(KeyNotFoundError, match="exists in the 'test' backend"):
        Keyring(tmp_path, "file", PASSPHRASE).get("dev")


# -- keyring: file backend ------------------------------------------------------------------


def test_file_backend_encrypts_and_round_trips(tmp_path):
    keyring = Keyring(tmp_path, "file", PASSPHRASE)
    info, mnemonic = keyring.add("alice")
    private = private_key_from_mnemonic(mnemonic)
    path = tmp_path / "keyring-file" / "alice.json"
    text = path.read_text()
    assert private.hex() not in text and "private_key" not in text
    record = json.loads(text)
    assert record["crypto"]["cipher"] == "aes-256-gcm" and record["crypto"]["kdf"] == "scrypt"
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
    # A fresh keyring object (another process) reads it back with the passphrase.
    again = Keyring(tmp_path, "file", PASSPHRASE)
    assert again.private_key("alice") == private
    # Public data needs no passphrase.
    assert Keyring(tmp_path, "file").get("alice") == info


def test_file_backend_wrong_or_missing_passphrase(tmp_path):
    Keyring(tmp_path, "file", PASSPHRASE).add("alice")
    with pytest.raises(WrongPassphraseError, match="wrong keyring passphrase for key 'alice'"):
        Keyring(tmp_path, "file", "not the passphrase").private_key("alice")
    with pytest.raises(WrongPassphraseError, match="needs a passphrase"):
        Keyring(tmp_path, "file").private_key("alice")
    # Every key of a keyring shares its passphrase: adding with another one is refused.
    with pytest.raises(WrongPassphraseError):
        Keyring(tmp_path, "file", "another passphrase").add("bob")
    assert not (tmp_path / "keyring-file" / "bob.json").exists()


def test_file_backend_passphrase_rules_and_provider(tmp_path):
    with pytest.raises(KeyringError, match="at least 8 characters"):
        Keyring(tmp_path, "file", "short").add("alice")
    calls: list[bool] = []

    def provider(new: bool) -> str:
        calls.append(new)
        return PASSPHRASE

    keyring = Keyring(tmp_path, "file", provider)
    keyring.add("alice")
    keyring.add("bob")  # asked once per keyring object
    assert calls == [True]
    later = Keyring(tmp_path, "file", provider)
    later.private_key("bob")
    assert calls == [True, False]


def test_file_backend_detects_a_swapped_record(tmp_path):
    keyring = Keyring(tmp_path, "file", PASSPHRASE)
    keyring.add("alice")
    bob, _ = keyring.add("bob")
    path = tmp_path / "keyring-file" / "alice.json"
    record = json.loads(path.read_text())
    record["address"] = bob.address  # claim bob's address with alice's ciphertext
    path.write_text(json.dumps(record))
    with pytest.raises(WrongPassphraseError):
        keyring.private_key("alice")


# -- the `sultan keys` commands -------------------------------------------------------------


def test_keys_cli_test_backend(cli, tmp_path):
    home = str(tmp_path)
    added = json_out(
        cli("keys", "add", "alice", "--home", home, "--keyring-backend", "test", "-o", "json")
    )
    assert added["name"] == "alice" and len(added["mnemonic"].split()) == 24
    derived = address_of(secp256k1.public_key(private_key_from_mnemonic(added["mnemonic"])))
    assert added["address"] == derived
    text = ok(cli("keys", "add", "bob", "--home", home, "--keyring-backend", "test"))
    assert "**Important** write this mnemonic phrase" in text.stdout
    assert "UNENCRYPTED" in text.stderr
    imported = ok(
        cli(
            "keys",
            "import",
            "carol",
            "--home",
            home,
            "--keyring-backend",
            "test",
            input=ABANDON + "\n",
        )
    )
    assert _as_sultan("cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4") in imported.stdout
    assert "Important" not in imported.stdout  # an imported mnemonic is not echoed
    listed = json_out(
        cli("keys", "list", "--home", home, "--keyring-backend", "test", "-o", "json")
    )
    assert [k["name"] for k in listed] == ["alice", "bob", "carol"]
    assert json.loads(listed[0]["pubkey"])["@type"] == "/cosmos.crypto.secp256k1.PubKey"
    shown = ok(cli("keys", "show", "alice", "-a", "--home", home, "--keyring-backend", "test"))
    assert shown.stdout.strip() == added["address"]
    by_address = ok(
        cli("keys", "show", added["address"], "--home", home, "--keyring-backend", "test")
    )
    assert "name: alice" in by_address.stdout
    ok(cli("keys", "delete", "bob", "--yes", "--home", home, "--keyring-backend", "test"))
    refused = cli(
        "keys", "delete", "alice", "--home", home, "--keyring-backend", "test", input="n\n"
    )
    assert refused.returncode == 1
    listed = json_out(
        cli("keys", "list", "--home", home, "--keyring-backend", "test", "-o", "json")
    )
    assert [k["name"] for k in listed] == ["alice", "carol"]


def test_keys_cli_errors_exit_1_with_a_message(cli, tmp_path):
    home = str(tmp_path)
    args = ("--home", home, "--keyring-backend", "test")
    ok(cli("keys", "import", "a", *args, input=ABANDON + "\n"))
    duplicate = cli("keys", "add", "a", *args)
    assert duplicate.returncode == 1 and "Error: a key named 'a' already exists" in duplicate.stderr
    bad = cli("keys", "import", "b", *args, input=ABANDON.replace("about", "abandon") + "\n")
    assert bad.returncode == 1 and "checksum mismatch" in bad.stderr
    missing = cli("keys", "show", "nobody", *args)
    assert missing.returncode == 1 and "key 'nobody' not found" in missing.stderr
    assert "Traceback" not in duplicate.stderr + bad.stderr + missing.stderr


def test_keys_cli_file_backend_prompt_file_and_env(cli, tmp_path):
    home = str(tmp_path)
    # Prompted (with confirmation) for a new keyring; recover reads the mnemonic first.
    prompted = cli(
        "keys", "add", "alice", "--recover", "--home", home,
        input=f"{ABANDON}\n{PASSPHRASE}\n{PASSPHRASE}\n",
    )  # fmt: skip
    ok(prompted)
    assert _as_sultan("cosmos19rl4cm2hmr8afy4kldpxz3fka4jguq0auqdal4") in prompted.stdout
    # From a file (trailing newline stripped) and from the environment.
    passphrase_file = tmp_path / "pass.txt"
    passphrase_file.write_text(PASSPHRASE + "\n")
    ok(cli("keys", "add", "bob", "--home", home, "--keyring-passphrase-file", str(passphrase_file)))
    ok(cli("keys", "add", "carol", "--home", home, env={"SULTAN_KEYRING_PASSPHRASE": PASSPHRASE}))
    wrong = cli(
        "keys", "add", "dave", "--home", home, env={"SULTAN_KEYRING_PASSPHRASE": "wrong-one"}
    )
    assert wrong.returncode == 1 and "wrong keyring passphrase" in wrong.stderr
    keyring = Keyring(tmp_path, "file", PASSPHRASE)
    assert [k.name for k in keyring.list_keys()] == ["alice", "bob", "carol"]
    assert keyring.private_key("alice") == private_key_from_mnemonic(ABANDON)
