# Load time versus objects already loaded, modkit against dlopen, from the
# data file modkit_bench writes (load_vs_n.dat).
#   gnuplot -e "datafile='out/load_vs_n.dat'; outfile='out/load_vs_n.png'" plot.gp
if (!exists("datafile")) datafile = "load_vs_n.dat"
if (!exists("outfile")) outfile = "load_vs_n.png"

if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
  set terminal pngcairo size 960,600 dashed
} else {
  set terminal png size 960,600
}
set output outfile
set title "Module load until init is callable (median)"
set xlabel "objects already loaded (N)"
set ylabel "microseconds"
set logscale xy
set grid
set key top left
set datafile missing "?"
set style data linespoints

plot datafile using 1:2 title "modkit, one function" lc rgb "#1f77b4" pt 7, \
     datafile using 1:3 title "dlopen, one function" lc rgb "#1f77b4" pt 6 dt 2, \
     datafile using 1:4 title "modkit, typical" lc rgb "#d62728" pt 7, \
     datafile using 1:5 title "dlopen, typical" lc rgb "#d62728" pt 6 dt 2, \
     datafile using 1:6 title "modkit, big" lc rgb "#2ca02c" pt 7, \
     datafile using 1:7 title "dlopen, big" lc rgb "#2ca02c" pt 6 dt 2
