#!/usr/bin/env bash
# Make or move branch BRANCH (default: student) to a commit whose tree is HEAD's
# without solutions/: what launch links and hubs pull, so that nbgitpuller never
# copies the solutions into a learner's home. Usage: tools/student-branch.sh [BRANCH] [GIT_DIR]
set -euo pipefail
branch=${1:-student}
if [ -n "${2:-}" ]; then export GIT_DIR=$2; fi
tree=$(git ls-tree HEAD | grep -v $'\tsolutions$' | git mktree)
parent=$(git rev-parse -q --verify "refs/heads/$branch" || true)
commit=$(git -c user.name=emcourse -c user.email=emcourse@localhost commit-tree "$tree" \
  ${parent:+-p "$parent"} -m "Student copy of $(git rev-parse --short HEAD): no solutions/")
git update-ref "refs/heads/$branch" "$commit"
echo "$branch = $(git rev-parse --short HEAD) without solutions/ (push it: git push origin $branch)"
