// Command ics23check verifies ICS-23 proofs with the reference Go library (cosmos/ics23),
// so Sultan's tests can check that the proofs the node serves verify outside Python too.
//
// Input (stdin): one JSON object per line,
//
//	{"spec": "smt" | "tendermint" | "iavl", "root": hex, "proof": hex CommitmentProof,
//	 "key": hex, "value": hex or null (null: prove absence)}
//
// Output (stdout): one line per input, "ok" or "fail: <reason>".
package main

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	ics23 "github.com/cosmos/ics23/go"
)

type request struct {
	Spec  string  `json:"spec"`
	Root  string  `json:"root"`
	Proof string  `json:"proof"`
	Key   string  `json:"key"`
	Value *string `json:"value"`
}

var specs = map[string]*ics23.ProofSpec{
	"smt":        ics23.SmtSpec,
	"tendermint": ics23.TendermintSpec,
	"iavl":       ics23.IavlSpec,
}

func check(line []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	var req request
	if err := json.Unmarshal(line, &req); err != nil {
		return fmt.Errorf("bad request: %w", err)
	}
	spec, ok := specs[req.Spec]
	if !ok {
		return fmt.Errorf("unknown spec %q", req.Spec)
	}
	root, err := hex.DecodeString(req.Root)
	if err != nil {
		return fmt.Errorf("root: %w", err)
	}
	key, err := hex.DecodeString(req.Key)
	if err != nil {
		return fmt.Errorf("key: %w", err)
	}
	raw, err := hex.DecodeString(req.Proof)
	if err != nil {
		return fmt.Errorf("proof: %w", err)
	}
	var proof ics23.CommitmentProof
	if err := proof.Unmarshal(raw); err != nil {
		return fmt.Errorf("proof does not decode: %w", err)
	}
	if req.Value == nil {
		if !ics23.VerifyNonMembership(spec, root, &proof, key) {
			return reason(&proof, spec, root, key, nil)
		}
		return nil
	}
	value, err := hex.DecodeString(*req.Value)
	if err != nil {
		return fmt.Errorf("value: %w", err)
	}
	if !ics23.VerifyMembership(spec, root, &proof, key, value) {
		return reason(&proof, spec, root, key, value)
	}
	return nil
}

// reason re-runs the failed check through the lower-level API to say why it failed.
func reason(proof *ics23.CommitmentProof, spec *ics23.ProofSpec, root, key, value []byte) error {
	if value == nil {
		if non := proof.GetNonexist(); non != nil {
			if err := non.Verify(spec, root, key); err != nil {
				return err
			}
		}
		return fmt.Errorf("not a non-membership proof for this key")
	}
	if exist := proof.GetExist(); exist != nil {
		if err := exist.Verify(spec, root, key, value); err != nil {
			return err
		}
	}
	return fmt.Errorf("not a membership proof for this key and value")
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		if len(in.Bytes()) == 0 {
			continue
		}
		if err := check(in.Bytes()); err != nil {
			fmt.Fprintf(out, "fail: %v\n", err)
		} else {
			fmt.Fprintln(out, "ok")
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "reading input: %v\n", err)
		os.Exit(1)
	}
}
