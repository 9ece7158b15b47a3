from scimd.cli import main

main()
