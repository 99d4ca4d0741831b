from durablec.cli import main

main()
