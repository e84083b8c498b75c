package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"sync/atomic"

	"ocgo/llm"

	"ocgo/event"
	"ocgo/provider"
	"ocgo/storage"
	"ocgo/tool"
)

// loopInput is one agent run.
type loopInput struct {
	sessionID string
	user      storage.Message
	agent     agentView
	model     *provider.Resolved
	system    string
	tools     map[string]bool
	summary   bool // a /summarize run: no tools, summary message
	extra     []llm.Message
	// compactOnOverflow: when the provider refuses the very first request
	// as too long, runLoop removes the empty answer and returns
	// errOverflow so the caller can compact and retry.
	compactOnOverflow bool
}

// errOverflow reports a context overflow before the answer had content.
var errOverflow = errors.New("context overflow")

// run state of one assistant message.
type runState struct {
	s        *Service
	ctx      context.Context
	in       loopInput
	msg      storage.Message
	mu       sync.Mutex // guards parts (tools update them concurrently)
	parts    []storage.Part
	index    map[string]int // part id → position
	rejected atomic.Bool    // a permission was rejected in this step
}

// runLoop creates the assistant message and drives the model: stream a
// step, run the tools it called, feed the results back, until the model
// stops, a permission is rejected, the run is aborted or an error occurs.
// The final message (completed, possibly with an error) is returned; an
// error is returned only when storage fails.
func (s *Service) runLoop(ctx context.Context, in loopInput) (storage.WithParts, error) {
	msg := s.newAssistant(in.sessionID, in.agent.Name, in.model.Info.ID, in.model.Model.ID)
	msg.Summary = in.summary
	msg.System = s.systemPrompt(in)
	if err := s.putMessage(msg); err != nil {
		return storage.WithParts{}, err
	}
	st := &runState{s: s, ctx: ctx, in: in, msg: msg, index: map[string]int{}}
	runErr := st.steps()
	if in.compactOnOverflow && contextOverflow(runErr) && st.empty() {
		if err := s.removeMessage(in.sessionID, msg.ID); err != nil {
			return storage.WithParts{}, err
		}
		return storage.WithParts{}, errOverflow
	}
	return st.finish(runErr)
}

// empty reports whether the answer has nothing but step starts.
func (st *runState) empty() bool {
	for _, p := range st.snapshotParts() {
		if p.Type != storage.PartStepStart {
			return false
		}
	}
	return true
}

func (st *runState) steps() error {
	s, in := st.s, st.in
	var tools []tool.Tool
	if !in.summary {
		tools = s.enabledTools(in.agent, in.tools, in.model.Model.ID)
	}
	maxSteps := s.opts.MaxSteps
	if maxSteps <= 0 {
		maxSteps = 200
	}
	reminder := s.reminder(in)
	settings := in.model.Settings(in.sessionID, in.agent.Temperature, in.agent.TopP, in.agent.Options)
	for step := 0; step < maxSteps; step++ {
		if err := context.Cause(st.ctx); err != nil && st.ctx.Err() != nil {
			return err
		}
		history, err := s.history(in.sessionID, in.user.ID, st.msg.ID, st.snapshotParts())
		if err != nil {
			return err
		}
		prompt := append(llm.Prompt{}, systemMessages(st.msg.System)...)
		prompt = append(prompt, withReminder(history, reminder)...)
		prompt = append(prompt, in.extra...)
		call := llm.Call{Prompt: prompt}
		maxOut := in.model.Model.Limit.Output
		if maxOut <= 0 || maxOut > 32000 {
			maxOut = 32000
		}
		call.MaxOutputTokens = &maxOut
		for _, t := range tools {
			info := t.Info()
			call.Tools = append(call.Tools, llm.FunctionTool{Name: info.Name, Description: info.Description, InputSchema: info.Schema()})
		}
		in.model.Prepare(&call, settings)
		if err := st.put(s.newPart(in.sessionID, st.msg.ID, storage.PartStepStart)); err != nil {
			return err
		}
		calls, finish, usage, err := st.stream(call)
		if err != nil {
			return err
		}
		if len(calls) > 0 {
			st.runTools(calls, tools)
		}
		// step-finish follows the step's tools, as in the original, so a
		// client sees a step end only when all its work is done.
		if err := st.finishStep(usage); err != nil {
			return err
		}
		if err := context.Cause(st.ctx); st.ctx.Err() != nil {
			return err
		}
		if finish == llm.FinishReasonLength {
			return provider.ErrOutputLength
		}
		if len(calls) == 0 || st.rejected.Load() {
			return nil
		}
	}
	return nil
}

// stream runs one model step and records its parts; it returns the tool
// calls the model made, its finish reason and its usage.
func (st *runState) stream(call llm.Call) ([]pendingCall, llm.FinishReason, llm.Usage, error) {
	s, in := st.s, st.in
	resp, err := in.model.LM.Stream(st.ctx, call)
	if err != nil {
		return nil, "", llm.Usage{}, err
	}
	var (
		calls  []pendingCall
		finish llm.FinishReason
		usage  llm.Usage
		texts  = map[string]*coalescer{} // blockKey → text/reasoning part
		tools  = map[string]int{}        // tool call id → index in calls
	)
	var all []*coalescer
	defer func() {
		for _, c := range all {
			c.stop()
		}
	}()
	for ev := range resp {
		switch ev.Type {
		case llm.StreamPartTypeTextStart, llm.StreamPartTypeReasoningStart:
			key := blockKey(ev)
			typ := storage.PartText
			if ev.Type == llm.StreamPartTypeReasoningStart {
				typ = storage.PartReasoning
			}
			p := s.newPart(in.sessionID, st.msg.ID, typ)
			p.Time = &storage.PartTime{Start: s.ms()}
			texts[key] = newCoalescer(st, p)
			all = append(all, texts[key])
		case llm.StreamPartTypeTextDelta, llm.StreamPartTypeReasoningDelta:
			key := blockKey(ev)
			c := texts[key]
			if c == nil {
				typ := storage.PartText
				if ev.Type == llm.StreamPartTypeReasoningDelta {
					typ = storage.PartReasoning
				}
				p := s.newPart(in.sessionID, st.msg.ID, typ)
				p.Time = &storage.PartTime{Start: s.ms()}
				c = newCoalescer(st, p)
				texts[key] = c
				all = append(all, c)
			}
			if err := c.add(ev.Delta, ev.ProviderMetadata); err != nil {
				return nil, "", llm.Usage{}, err
			}
		case llm.StreamPartTypeTextEnd, llm.StreamPartTypeReasoningEnd:
			key := blockKey(ev)
			if c := texts[key]; c != nil {
				if err := c.end(ev.ProviderMetadata); err != nil {
					return nil, "", llm.Usage{}, err
				}
				delete(texts, key)
			}
		case llm.StreamPartTypeToolInputStart:
			p := s.newPart(in.sessionID, st.msg.ID, storage.PartTool)
			p.CallID, p.Tool = ev.ID, ev.ToolCallName
			p.State = &storage.ToolState{Status: storage.ToolPending}
			if err := st.put(p); err != nil {
				return nil, "", llm.Usage{}, err
			}
			tools[ev.ID] = len(calls)
			calls = append(calls, pendingCall{partID: p.ID, callID: ev.ID, name: ev.ToolCallName})
		case llm.StreamPartTypeToolCall:
			i, ok := tools[ev.ID]
			if !ok {
				p := s.newPart(in.sessionID, st.msg.ID, storage.PartTool)
				p.CallID, p.Tool = ev.ID, ev.ToolCallName
				p.State = &storage.ToolState{Status: storage.ToolPending}
				if err := st.put(p); err != nil {
					return nil, "", llm.Usage{}, err
				}
				i = len(calls)
				tools[ev.ID] = i
				calls = append(calls, pendingCall{partID: p.ID, callID: ev.ID, name: ev.ToolCallName})
			}
			calls[i].input = ev.ToolCallInput
			calls[i].ready = true
		case llm.StreamPartTypeFinish:
			finish, usage = ev.FinishReason, ev.Usage
		case llm.StreamPartTypeError:
			for _, c := range texts {
				_ = c.end(nil)
			}
			return nil, "", llm.Usage{}, ev.Error
		}
	}
	for _, c := range texts { // a stream that ended without text_end
		if err := c.end(nil); err != nil {
			return nil, "", llm.Usage{}, err
		}
	}
	if err := st.ctx.Err(); err != nil {
		return nil, "", llm.Usage{}, context.Cause(st.ctx)
	}
	var ready []pendingCall
	for _, c := range calls {
		if c.ready {
			ready = append(ready, c)
		} else {
			st.setTool(c.partID, func(ts *storage.ToolState) {
				*ts = storage.ToolState{Status: storage.ToolError, Input: json.RawMessage("{}"), Error: "the model did not finish this tool call",
					Time: &storage.ToolTime{Start: s.ms(), End: s.ms()}}
			})
		}
	}
	return ready, finish, usage, nil
}

// finishStep writes the step-finish part with the step's usage and adds
// its cost to the message.
func (st *runState) finishStep(usage llm.Usage) error {
	s, in := st.s, st.in
	cost := provider.Cost(in.model.Model, usage)
	tokens := storage.Tokens{Input: usage.InputTokens, Output: usage.OutputTokens, Reasoning: usage.ReasoningTokens,
		Cache: storage.TokenCache{Read: usage.CacheReadTokens, Write: usage.CacheCreationTokens}}
	fin := s.newPart(in.sessionID, st.msg.ID, storage.PartStepFinish)
	fin.Cost, fin.Tokens = cost, &tokens
	if err := st.put(fin); err != nil {
		return err
	}
	st.mu.Lock()
	st.msg.Cost += cost
	st.msg.Tokens = &tokens
	msg := st.msg
	st.mu.Unlock()
	return s.putMessage(msg)
}

// pendingCall is a tool call the model made in the current step.
type pendingCall struct {
	partID, callID, name string
	input                string
	ready                bool
}

// put writes and publishes a part and remembers it for the final answer.
func (st *runState) put(p storage.Part) error {
	st.mu.Lock()
	if i, ok := st.index[p.ID]; ok {
		st.parts[i] = p
	} else {
		st.index[p.ID] = len(st.parts)
		st.parts = append(st.parts, p)
	}
	st.mu.Unlock()
	return st.s.putPart(p)
}

// part returns the current value of a part.
func (st *runState) part(id string) storage.Part {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.parts[st.index[id]]
}

// setTool updates a tool part's state and writes it.
func (st *runState) setTool(partID string, fn func(*storage.ToolState)) {
	p := st.part(partID)
	state := storage.ToolState{}
	if p.State != nil {
		state = *p.State
	}
	fn(&state)
	p.State = &state
	if err := st.put(p); err != nil {
		st.s.log.Error("Could not write tool part", "err", err)
	}
}

// snapshotParts returns the parts written so far, for the history of the
// next step.
func (st *runState) snapshotParts() []storage.Part {
	st.mu.Lock()
	defer st.mu.Unlock()
	return append([]storage.Part{}, st.parts...)
}

// finish closes the message: any tool part still pending or running is
// marked as aborted, the error (if any) is recorded and published, and
// time.completed is set.
func (st *runState) finish(runErr error) (storage.WithParts, error) {
	s := st.s
	now := s.ms()
	for _, p := range st.snapshotParts() {
		if p.Type == storage.PartTool && p.State != nil && (p.State.Status == storage.ToolPending || p.State.Status == storage.ToolRunning) {
			st.setTool(p.ID, func(ts *storage.ToolState) {
				start := now
				if ts.Time != nil {
					start = ts.Time.Start
				}
				input := ts.Input
				if len(input) == 0 {
					input = json.RawMessage("{}")
				}
				*ts = storage.ToolState{Status: storage.ToolError, Input: input, Error: "Tool execution aborted", Metadata: ts.Metadata,
					Time: &storage.ToolTime{Start: start, End: now}}
			})
		}
	}
	st.mu.Lock()
	msg := st.msg
	st.mu.Unlock()
	if runErr != nil {
		if errors.Is(runErr, ErrAborted) {
			runErr = fmt.Errorf("%w: %w", context.Canceled, runErr)
		}
		name, data := provider.Classify(runErr)
		if name == "MessageAbortedError" {
			data = map[string]any{"message": "The operation was aborted."}
		}
		msg.Error = &storage.MessageError{Name: name, Data: data}
		s.log.Info("Prompt ended with an error", "session", msg.SessionID, "error", name)
	}
	msg.Time.Completed = &now
	if err := s.putMessage(msg); err != nil {
		return storage.WithParts{}, err
	}
	if msg.Error != nil {
		s.bus.Publish(event.SessionError{SessionID: msg.SessionID, Error: msg.Error})
	}
	return storage.WithParts{Info: msg, Parts: st.snapshotParts()}, nil
}

// removeMessage deletes a message with its parts and publishes
// message.removed.
func (s *Service) removeMessage(sessionID, messageID string) error {
	if err := s.store.DeleteMessage(sessionID, messageID); err != nil {
		return err
	}
	s.bus.Publish(event.MessageRemoved{SessionID: sessionID, MessageID: messageID})
	return nil
}

// overflowRe matches the providers' "your prompt is too long" messages
// (Anthropic, OpenAI and compatible servers such as llama.cpp, vLLM).
var overflowRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)prompt is too long|maximum context length|context_length_exceeded|exceeds the context window|context window exceeds|too many tokens`)
})

// contextOverflow reports whether a model call failed because the prompt
// did not fit the context window. Besides the library's own detection it
// reads the provider's decoded error message, which the library misses
// when the server JSON-escapes characters such as '>'.
func contextOverflow(err error) bool {
	if err == nil {
		return false
	}
	if provider.IsContextOverflow(err) {
		return true
	}
	if name, data := provider.Classify(err); name == "UnknownError" {
		msg, _ := data["message"].(string)
		return overflowRe().MatchString(msg)
	}
	return false
}
