import QForgeCommands

// The commands live in QForgeCommands, so that the libFuzzer target can parse command lines too.
QForge.main()
