# Setup for README.md's examples: the quick start reads snapshots.json (here: the demo's).
cp demo-out/snapshots/reptimeline.json snapshots.json
