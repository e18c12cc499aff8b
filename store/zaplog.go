package store

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// slogCore is a zapcore.Core that hands etcd's log records at Warn and
// above to a slog.Logger, drops messages known to be noise, and drops
// everything once the server is closing (embed's Close logs "serving ...
// failed ... server closed" at error level for every listener).
type slogCore struct {
	h       slog.Handler
	fields  []zapcore.Field
	closing *atomic.Bool
}

// noisyMessages are harmless warnings etcd prints on every start.
var noisyMessages = []string{
	"Running http and grpc server on single port",
	"simple token is not cryptographically signed",
	"disabled fsync",
	"it isn't recommended to use default name",
}

func newZapLogger(l *slog.Logger, closing *atomic.Bool) *zap.Logger {
	if l == nil {
		l = slog.Default()
	}
	return zap.New(&slogCore{h: l.Handler(), closing: closing})
}

func slogLevel(l zapcore.Level) slog.Level {
	switch {
	case l >= zapcore.ErrorLevel:
		return slog.LevelError
	case l >= zapcore.WarnLevel:
		return slog.LevelWarn
	case l >= zapcore.InfoLevel:
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

func (c *slogCore) Enabled(l zapcore.Level) bool {
	return l >= zapcore.WarnLevel && !c.closing.Load() &&
		c.h.Enabled(context.Background(), slogLevel(l))
}

func (c *slogCore) With(fs []zapcore.Field) zapcore.Core {
	return &slogCore{h: c.h, fields: append(slices.Clip(c.fields), fs...), closing: c.closing}
}

func (c *slogCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *slogCore) Write(e zapcore.Entry, fs []zapcore.Field) error {
	for _, m := range noisyMessages {
		if strings.Contains(e.Message, m) {
			return nil
		}
	}
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range c.fields {
		f.AddTo(enc)
	}
	for _, f := range fs {
		f.AddTo(enc)
	}
	r := slog.NewRecord(e.Time, slogLevel(e.Level), "etcd: "+e.Message, 0)
	keys := make([]string, 0, len(enc.Fields))
	for k := range enc.Fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		r.AddAttrs(slog.Any(k, enc.Fields[k]))
	}
	return c.h.Handle(context.Background(), r)
}

func (c *slogCore) Sync() error { return nil }
