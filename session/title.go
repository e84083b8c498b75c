package session

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"time"

	"ocgo/llm"

	"ocgo/provider"
	"ocgo/storage"
)

const titlePrompt = `Write a short title (at most 50 characters) for a coding conversation that starts with the user's message below.
Answer with the title only: no quotes, no punctuation at the end.`

var thinkRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`(?s)<think>.*?</think>`) })

// generateTitle names a new session after its first message with the
// small model. It runs in the background, bounded in time, and
// keeps the default title on any failure.
func (s *Service) generateTitle(ctx context.Context, sessionID string, main *provider.Resolved, in PromptInput) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	model := s.smallModel(ctx, main)
	var text strings.Builder
	for _, p := range in.Parts {
		if p.Type == storage.PartText {
			text.WriteString(p.Text)
			text.WriteString("\n")
		}
	}
	maxOut := int64(100)
	// Streamed like every other model call, so any provider that serves
	// the chat serves titles too.
	resp, err := model.LM.Stream(ctx, llm.Call{
		Prompt:          llm.Prompt{llm.NewSystemMessage(titlePrompt), llm.NewUserMessage(text.String())},
		MaxOutputTokens: &maxOut,
	})
	var answer strings.Builder
	if err == nil {
		for ev := range resp {
			switch ev.Type {
			case llm.StreamPartTypeTextDelta:
				answer.WriteString(ev.Delta)
			case llm.StreamPartTypeError:
				err = ev.Error
			}
		}
	}
	if err != nil {
		s.log.Info("Title generation failed", "session", sessionID, "err", err)
		return
	}
	title := strings.TrimSpace(thinkRe().ReplaceAllString(answer.String(), ""))
	title = strings.Trim(strings.SplitN(title, "\n", 2)[0], "\"' ")
	if title == "" {
		return
	}
	if len([]rune(title)) > 100 {
		title = string([]rune(title)[:97]) + "..."
	}
	_, _ = s.Update(sessionID, func(sess *storage.Session) {
		if strings.HasPrefix(sess.Title, "New session - ") {
			sess.Title = title
		}
	})
}

// smallModel picks the title model: config small_model ("provider/model"),
// else the main provider's small model, else the main model.
func (s *Service) smallModel(ctx context.Context, main *provider.Resolved) *provider.Resolved {
	if s.opts.Config != nil {
		if p, m, ok := strings.Cut(s.opts.Config.SmallModel, "/"); ok {
			if r, err := s.opts.Models.Model(ctx, p, m); err == nil {
				return r
			}
		}
	}
	if small := s.opts.Models.SmallModel(main.Info.ID); small != "" {
		if r, err := s.opts.Models.Model(ctx, main.Info.ID, small); err == nil {
			return r
		}
	}
	return main
}
