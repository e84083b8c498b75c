package session

import (
	"context"
	"regexp"
	"strings"
	"time"

	"charm.land/fantasy"

	"ocgo/provider"
	"ocgo/storage"
)

const titlePrompt = `Write a short title (at most 50 characters) for a coding conversation that starts with the user's message below.
Answer with the title only: no quotes, no punctuation at the end.`

var thinkRe = regexp.MustCompile(`(?s)<think>.*?</think>`)

// generateTitle names a new session after its first message with the
// provider's small model. It runs in the background, bounded in time, and
// keeps the default title on any failure.
func (s *Service) generateTitle(sessionID string, main *provider.Resolved, in PromptInput) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	model := main
	if small := s.opts.Models.SmallModel(main.Info.ID); small != "" {
		if r, err := s.opts.Models.Model(ctx, main.Info.ID, small); err == nil {
			model = r
		}
	}
	var text strings.Builder
	for _, p := range in.Parts {
		if p.Type == storage.PartText {
			text.WriteString(p.Text)
			text.WriteString("\n")
		}
	}
	maxOut := int64(100)
	resp, err := model.LM.Generate(ctx, fantasy.Call{
		Prompt:          fantasy.Prompt{fantasy.NewSystemMessage(titlePrompt), fantasy.NewUserMessage(text.String())},
		MaxOutputTokens: &maxOut,
	})
	if err != nil {
		s.log.Info("Title generation failed", "session", sessionID, "err", err)
		return
	}
	title := strings.TrimSpace(thinkRe.ReplaceAllString(resp.Content.Text(), ""))
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
