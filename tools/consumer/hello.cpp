// Three green threads that sleep, print and return a number (README.md, "Start here").
#include <eventlet/eventlet.hpp>

#include <iostream>
#include <vector>

int main()
{
    std::vector<eventlet::GreenThread<int>> threads; // GreenThread<T>: T is what it returns
    for (int id : {3, 1, 2})
        threads.push_back(eventlet::spawn([id] {
            eventlet::sleep(0.1 * id); // parks this green thread; the others run meanwhile
            std::cout << "green thread " << id << " woke up\n";
            return 10 * id;
        }));
    int sum = 0;
    for (auto& thread : threads)
        sum += thread.wait(); // parks main() until that green thread has returned
    std::cout << "sum of the results: " << sum << '\n';
}
