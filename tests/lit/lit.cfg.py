# lit configuration for attn: dialect round trips and diagnostics, and the
# attnc driver on spec files.
import os
import lit.formats

config.name = "attn"
config.test_format = lit.formats.ShTest(execute_external=True)
config.suffixes = [".mlir", ".attn", ".test"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.attn_obj_root, "tests", "lit")
config.excludes = ["Inputs", "lit.cfg.py", "lit.site.cfg.py.in", "make_npy.py"]

tool_dirs = [
    os.path.join(config.attn_obj_root, "compiler", "tools", "attnc"),
    os.path.join(config.attn_obj_root, "compiler", "tools", "attn-opt"),
    config.llvm_tools_dir,
]
config.environment["PATH"] = os.pathsep.join(tool_dirs + [config.environment.get("PATH", os.environ["PATH"])])
# Compiled kernels are cached inside the build tree, not in the user's cache.
config.environment["ATTN_CACHE_DIR"] = os.path.join(config.attn_obj_root, "kernel-cache")
config.substitutions.append(("%examples", os.path.join(config.attn_src_root, "examples", "specs")))
config.substitutions.append(("%make_npy", config.python_executable + " " +
                             os.path.join(config.test_source_root, "make_npy.py")))
config.substitutions.append(("%python", config.python_executable))
