package provider

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"ocgo/llm"
)

// RetryPolicy configures retries of failed model calls.
type RetryPolicy struct {
	// MaxRetries is the number of retries after the first attempt.
	MaxRetries int
	// InitialDelay is the first backoff; each retry multiplies it by Factor.
	InitialDelay time.Duration
	Factor       float64
	// MaxDelay caps every wait, including one asked for by Retry-After.
	MaxDelay time.Duration
	// Sleep waits for d or until ctx is done; nil means a timer. Tests
	// inject a recorder here.
	Sleep func(ctx context.Context, d time.Duration) error
}

// DefaultRetryPolicy mirrors opencode's maxRetries 3 with a 1 s initial
// backoff doubling each time, capped at 30 s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxRetries: 3, InitialDelay: time.Second, Factor: 2, MaxDelay: 30 * time.Second}
}

func (p RetryPolicy) sleep(ctx context.Context, d time.Duration) error {
	if p.Sleep != nil {
		return p.Sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

// Sleep waits for d or until ctx is done (its error then): the one
// cancellable wait of the retries and of oauth's device-flow polling.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// delay returns the wait before retry number attempt (1-based).
func (p RetryPolicy) delay(attempt int, err error) time.Duration {
	d := time.Duration(float64(p.InitialDelay) * math.Pow(max(p.Factor, 1), float64(attempt-1)))
	if ra, ok := retryAfter(err); ok {
		d = ra
	}
	if p.MaxDelay > 0 && d > p.MaxDelay {
		d = p.MaxDelay
	}
	return max(d, 0)
}

// retryAfter reads retry-after-ms / retry-after (seconds or HTTP date)
// from a provider error's response headers, case-insensitively.
func retryAfter(err error) (time.Duration, bool) {
	var pe *llm.ProviderError
	if !errors.As(err, &pe) {
		return 0, false
	}
	get := func(name string) string {
		for k, v := range pe.ResponseHeaders {
			if strings.EqualFold(k, name) {
				return v
			}
		}
		return ""
	}
	if v := get("retry-after-ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 {
			return time.Duration(ms * float64(time.Millisecond)), true
		}
	}
	if v := get("retry-after"); v != "" {
		if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
			return time.Duration(s * float64(time.Second)), true
		}
		if t, err := http.ParseTime(v); err == nil {
			return max(time.Until(t), 0), true
		}
	}
	return 0, false
}

// retryable reports whether err is worth another attempt.
func retryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pe *llm.ProviderError
	if errors.As(err, &pe) {
		return pe.IsRetryable()
	}
	return llm.IsTransportError(err)
}

// wireModel is what each wire adapter implements: one streaming call,
// whose failures (a refused request too) are the stream's error part.
// retryModel makes an llm.LanguageModel of it.
type wireModel interface {
	Stream(context.Context, llm.Call) llm.StreamResponse
	Provider() string
	Model() string
}

// retryModel wraps a model with retries, provider-id tagging and
// secret scrubbing of errors.
type retryModel struct {
	inner      wireModel
	providerID string
	policy     RetryPolicy
	log        *slog.Logger
	secret     string
}

func (m *retryModel) Provider() string { return m.providerID }
func (m *retryModel) Model() string    { return m.inner.Model() }

func (m *retryModel) wrap(err error) error {
	if err == nil {
		return nil
	}
	var pe *llm.ProviderError
	if errors.As(err, &pe) {
		pe.Message = scrub(pe.Message, m.secret)
		pe.Title = scrub(pe.Title, m.secret)
		pe.ResponseBody = []byte(scrub(string(pe.ResponseBody), m.secret))
	}
	return &providerError{id: m.providerID, err: err}
}

func (m *retryModel) waitRetry(ctx context.Context, attempt int, err error) bool {
	if attempt > m.policy.MaxRetries || !retryable(err) {
		return false
	}
	d := m.policy.delay(attempt, err)
	m.log.Warn("provider call failed, retrying", "provider", m.providerID, "model", m.inner.Model(),
		"attempt", attempt, "delay", d, "error", scrub(err.Error(), m.secret))
	return m.policy.sleep(ctx, d) == nil
}

// Stream implements llm.LanguageModel; its error is always nil (a failure
// is the stream's last part). A failed attempt is retried only while
// nothing but warnings has been produced, so the caller never sees a part
// twice. Error parts carry errors that Classify understands.
func (m *retryModel) Stream(ctx context.Context, call llm.Call) (llm.StreamResponse, error) {
	return func(yield func(llm.StreamPart) bool) {
		for attempt := 1; ; attempt++ {
			stream := m.inner.Stream(ctx, call)
			var held []llm.StreamPart
			committed := false
			var failure error
			for part := range stream {
				if !committed {
					if part.Type == llm.StreamPartTypeWarnings {
						held = append(held, part)
						continue
					}
					if part.Type == llm.StreamPartTypeError {
						failure = part.Error
						break
					}
					committed = true
					for _, h := range held {
						if !yield(h) {
							return
						}
					}
				}
				if part.Type == llm.StreamPartTypeError {
					part.Error = m.wrap(part.Error)
				}
				if !yield(part) {
					return
				}
			}
			if committed {
				return
			}
			if failure == nil {
				for _, h := range held { // warnings-only stream
					if !yield(h) {
						return
					}
				}
				return
			}
			if !m.waitRetry(ctx, attempt, failure) {
				for _, h := range held {
					if !yield(h) {
						return
					}
				}
				if ctx.Err() != nil && !errors.Is(failure, context.Canceled) && retryable(failure) {
					failure = errors.Join(ctx.Err(), failure)
				}
				yield(llm.StreamPart{Type: llm.StreamPartTypeError, Error: m.wrap(failure)})
				return
			}
		}
	}, nil
}
