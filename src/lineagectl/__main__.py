from lineagectl.cli import main

main()
