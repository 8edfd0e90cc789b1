package web

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"

	"github.com/labstack/echo/v4"

	"github.com/lakeflight/lakeflight/internal/errkind"
	"github.com/lakeflight/lakeflight/internal/transform"
)

// Transformer runs dbt builds (internal/transform.Runner).
type Transformer interface {
	Submit(transform.Request) (transform.Run, error)
	Get(id string) (transform.Run, error)
	List() []transform.Run
	Cancel(id string) (transform.Run, error)
	// State says, in a few words, whether transforms can run and what is
	// running: /ready shows it.
	State() string
}

// ErrTransformOff: the sidecar has no Transformer, or it has nothing to
// build.
var ErrTransformOff = errkind.New(errkind.Unsupported, "transforms are not enabled on this server")

// transformBody is POST /transform's body; every field is optional.
type transformBody struct {
	Command     string         `json:"command"`
	Select      []string       `json:"select"`
	Exclude     []string       `json:"exclude"`
	FullRefresh bool           `json:"full_refresh"`
	Vars        map[string]any `json:"vars"`
	Target      string         `json:"target"`
}

// selector is one dbt selection term: no blanks (terms are joined with
// spaces), no leading '-' (it would read as a flag), printable ASCII.
var (
	selector   = regexp.MustCompile(`^[A-Za-z0-9_.:+*@/,=\[\]-]+$`)
	targetName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
)

func checkSelectors(field string, terms []string) error {
	for i, t := range terms {
		if t == "" || t[0] == '-' || !selector.MatchString(t) {
			return fmt.Errorf("%w: %s[%d] %q is not a dbt selection term (letters, digits and _ . : + * @ / , = [ ] -, not starting with -)",
				errBadRequest, field, i, t)
		}
	}
	return nil
}

// startTransform is POST /transform: the build is queued and 202 answers
// at once with the run and its Location.
func (s *Server) startTransform(c echo.Context) error {
	if s.opts.Transform == nil {
		return ErrTransformOff
	}
	var body transformBody
	if err := decodeJSONBody(c, &body); err != nil {
		return err
	}
	if err := checkSelectors("select", body.Select); err != nil {
		return err
	}
	if err := checkSelectors("exclude", body.Exclude); err != nil {
		return err
	}
	if body.Target != "" && !targetName.MatchString(body.Target) {
		return fmt.Errorf("%w: target %q is not a profile target name (letters, digits, _ and -)", errBadRequest, body.Target)
	}
	req := transform.Request{Command: transform.Command(body.Command),
		Select: body.Select, Exclude: body.Exclude, FullRefresh: body.FullRefresh, Vars: body.Vars, Target: body.Target,
	}
	if err := req.Check(); err != nil {
		return fmt.Errorf("%w: %w", errBadRequest, err)
	}
	run, err := s.opts.Transform.Submit(req)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/transform/"+run.ID)
	return c.JSON(http.StatusAccepted, run)
}

// getTransform is GET /transform/{id}.
func (s *Server) getTransform(c echo.Context) error {
	if s.opts.Transform == nil {
		return ErrTransformOff
	}
	run, err := s.opts.Transform.Get(c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, run)
}

// listTransforms is GET /transform: every run, newest first.
func (s *Server) listTransforms(c echo.Context) error {
	if s.opts.Transform == nil {
		return ErrTransformOff
	}
	if q := c.QueryParams(); len(q) > 0 {
		return fmt.Errorf("%w: unknown query parameter %q: GET /transform takes none", errBadRequest, slices.Sorted(maps.Keys(q))[0])
	}
	return c.JSON(http.StatusOK, map[string]any{"runs": s.opts.Transform.List()})
}

// cancelTransform is DELETE /transform/{id}: a queued run is canceled at
// once, a running one once dbt has stopped (poll GET for the end).
func (s *Server) cancelTransform(c echo.Context) error {
	if s.opts.Transform == nil {
		return ErrTransformOff
	}
	run, err := s.opts.Transform.Cancel(c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, run)
}
