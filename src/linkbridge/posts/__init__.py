"""The old blog's posts: WXR import (wxr.py) and URL -> post resolution (registry.py)."""
