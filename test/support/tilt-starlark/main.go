// Runs a Tiltfile in go.starlark.net with Tilt's builtins stubbed: each call's arguments are bound to Tilt's
// parameter names (a wrong name or count fails as in Tilt) and printed, in call order, as JSON.
// Usage: tilt-starlark TILTFILE SUBCOMMAND K8S_CONTEXT; fail() exits 1 with its message.
package main

import (
	"fmt"
	"os"
	"strings"

	"go.starlark.net/resolve"
	"go.starlark.net/starlark"
	"go.starlark.net/starlarkjson"
	"go.starlark.net/starlarkstruct"
)

// The signatures in Tilt's API reference (internal/tiltfile/api/__init__.py); "?" marks an optional parameter.
var api = map[string]string{
	"allow_k8s_contexts": "contexts",
	"docker_build": "ref context build_args? dockerfile? dockerfile_contents? live_update? match_in_env_vars? ignore? " +
		"only? entrypoint? target? ssh? network? secret? extra_tag? container_args? cache_from? pull? platform? extra_hosts?",
	"fail":         "msg",
	"fall_back_on": "files",
	"k8s_context":  "",
	"k8s_resource": "workload? new_name? port_forwards? extra_pod_selectors? trigger_mode? resource_deps? objects? " +
		"auto_init? pod_readiness? links? labels? discovery_strategy?",
	"k8s_yaml":  "yaml allow_duplicates?",
	"kustomize": "pathToDir kustomize_bin? flags?",
	"link":      "url name?",
	"local":     "command quiet? command_bat? echo_off? env? dir? stdin?",
	"local_resource": "name cmd deps? trigger_mode? resource_deps? ignore? auto_init? serve_cmd? cmd_bat? serve_cmd_bat? " +
		"allow_parallel? links? labels? env? serve_env? readiness_probe? dir? serve_dir?",
	"port_forward": "local_port container_port? name? link_path? host?",
	"sync":         "local_path remote_path",
	"watch_file":   "file_path",
}

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: tilt-starlark TILTFILE SUBCOMMAND K8S_CONTEXT")
		os.Exit(2)
	}
	resolve.AllowGlobalReassign = true // Tilt allows top-level if/for, as this flag does
	calls := starlark.NewList(nil)
	env := starlark.StringDict{
		"config": &starlarkstruct.Module{Name: "config",
			Members: starlark.StringDict{"tilt_subcommand": starlark.String(os.Args[2])}},
		"TRIGGER_MODE_AUTO":   starlark.String("TRIGGER_MODE_AUTO"),
		"TRIGGER_MODE_MANUAL": starlark.String("TRIGGER_MODE_MANUAL"),
	}
	for name, signature := range api {
		name, params := name, strings.Fields(signature)
		env[name] = starlark.NewBuiltin(name, func(_ *starlark.Thread, _ *starlark.Builtin, args starlark.Tuple,
			kwargs []starlark.Tuple) (starlark.Value, error) {
			values := make([]starlark.Value, len(params))
			pairs := []interface{}{}
			for i, param := range params {
				pairs = append(pairs, param, &values[i])
			}
			if err := starlark.UnpackArgs(name, args, kwargs, pairs...); err != nil {
				return nil, err
			}
			bound := starlark.NewDict(len(params))
			for i, param := range params {
				if values[i] != nil {
					bound.SetKey(starlark.String(strings.TrimSuffix(param, "?")), values[i])
				}
			}
			call := starlark.NewDict(2)
			call.SetKey(starlark.String("fn"), starlark.String(name))
			call.SetKey(starlark.String("args"), bound)
			calls.Append(call)
			switch name {
			case "fail":
				return nil, fmt.Errorf("%s", values[0].(starlark.String).GoString())
			case "k8s_context":
				return starlark.String(os.Args[3]), nil
			}
			return call, nil
		})
	}
	thread := &starlark.Thread{Name: "Tiltfile"}
	if _, err := starlark.ExecFile(thread, os.Args[1], nil, env); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := starlark.Call(thread, starlarkjson.Module.Members["encode"], starlark.Tuple{calls}, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(out.(starlark.String).GoString())
}
