package nft

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/palisade-net/palisade/render"
)

// Applier programs palisade's table in one network namespace. See the
// package documentation for the contract.
type Applier interface {
	// Apply replaces palisade's table with rs in one atomic transaction;
	// on error the previous table stays in force.
	Apply(ctx context.Context, rs *render.Ruleset) error
	// Delete removes palisade's table and nothing else.
	Delete(ctx context.Context) error
	// Show returns palisade's table as nft text, or ErrNoTable.
	Show(ctx context.Context) (string, error)
}

// ErrNoTable is returned by Show when palisade's table does not exist.
var ErrNoTable = errors.New("nft: palisade's table does not exist")

// tableHeader is the first line of palisade's table block.
var tableHeader = fmt.Sprintf("table %s %s {", render.TableFamily, render.TableName)

// rulesetText returns the ruleset's text and whether it already holds the
// "table inet palisade {" wrapper (render may print the block or only its
// body; both are accepted).
func rulesetText(rs *render.Ruleset) (string, error) {
	if err := checkTable(rs); err != nil {
		return "", err
	}
	return rs.Text(), nil
}

// checkTable refuses a nil ruleset or one for another table.
func checkTable(rs *render.Ruleset) error {
	if rs == nil {
		return errors.New("nft: nil ruleset")
	}
	if rs.Table != "" && rs.Table != render.TableName || rs.Family != "" && rs.Family != render.TableFamily {
		return fmt.Errorf("nft: ruleset is for table %s %s; this applier owns only %s %s",
			rs.Family, rs.Table, render.TableFamily, render.TableName)
	}
	return nil
}

// Script is the transaction Kernel feeds to `nft -f -` for a ruleset text:
// the add/delete pair and the table block. bodyLine is the script line of
// the text's first line, for mapping nft's line numbers back.
func Script(text string) (script string, bodyLine int) {
	var b strings.Builder
	fmt.Fprintf(&b, "add table %s %s\n", render.TableFamily, render.TableName)
	fmt.Fprintf(&b, "delete table %s %s\n", render.TableFamily, render.TableName)
	bodyLine = 3
	if writeTable(&b, text) {
		bodyLine = 4
	}
	return b.String(), bodyLine
}

// writeTable writes text as a table block: as it is when it is one, else
// wrapped in palisade's table; wrapped reports which.
func writeTable(b *strings.Builder, text string) (wrapped bool) {
	wrapped = !strings.HasPrefix(strings.TrimSpace(text), "table ")
	if wrapped {
		b.WriteString(tableHeader + "\n")
	}
	b.WriteString(text)
	if !strings.HasSuffix(text, "\n") {
		b.WriteString("\n")
	}
	if wrapped {
		b.WriteString("}\n")
	}
	return wrapped
}

// TableText wraps a ruleset text in the table block when it is only the
// body, the form Show returns for a Fake.
func TableText(text string) string {
	if strings.HasPrefix(strings.TrimSpace(text), "table ") {
		return text
	}
	s, _ := Script(text)
	// Drop the add/delete lines.
	for i := 0; i < 2; i++ {
		_, s, _ = strings.Cut(s, "\n")
	}
	return s
}
